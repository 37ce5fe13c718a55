# bench.train.report: scripts/train-report.py over the small logs of bench/testdata/train/ (2-epoch
# lowbit-train runs of float, fixed8-sr and a CPT config with 2 cycles, and a 2-epoch
# bench/pytorch_fashion.py run with its thread measurements): the table must hold a row per run
# with the accuracy, its difference to float, the BitOPs, the threads and the memory, the
# measurement table and the CPT panel's run; the chart must be a PNG. A log that is not JSON, a
# missing log and a log without epoch records must each fail with one line and exit status 2 and
# leave the outputs alone.
# cmake -DPYTHON=python3 -DREPORT=train-report.py -DDATA=bench/testdata/train -DWORK=dir -P
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(logs "${DATA}/float.jsonl" "${DATA}/fixed8-sr.jsonl" "${DATA}/cpt-3-8.jsonl")
set(outputs --md "${WORK}/training.md" --png "${WORK}/training.png")
execute_process(COMMAND "${PYTHON}" "${REPORT}" ${logs} --pytorch "${DATA}/pytorch.jsonl"
                        ${outputs} --command "bench.train.report"
                RESULT_VARIABLE status ERROR_VARIABLE stderr)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "train-report.py failed (${status}): ${stderr}")
endif()
file(READ "${WORK}/training.png" magic LIMIT 4 HEX)
if(NOT magic STREQUAL "89504e47")
  message(FATAL_ERROR "training.png is not a PNG (starts with '${magic}')")
endif()
set(acc "[0-9]+\\.[0-9][0-9]%")
set(diff "[+-][0-9]+\\.[0-9][0-9]")
set(tail "[0-9]+\\.[0-9] \\| [0-9]+ \\|") # epoch seconds, images per second
set(mem "arena [0-9.]+ MiB, peak RSS [0-9.]+ MiB \\|$")
set(float "^\\| float \\| 2 \\| ${acc} \\| \\+0\\.00 \\| 1\\.0000 \\| 16\\.0000 \\| ${tail}")
string(APPEND float " 1 \\| ${mem}")
set(fixed "^\\| fixed8-sr \\| 2 \\| ${acc} \\| ${diff} \\| 0\\.0625 \\| 1\\.0000 \\| ${tail}")
string(APPEND fixed " 1 \\| ${mem}")
set(cpt "^\\| cpt-3-8 \\| 2 \\| ${acc} \\| ${diff} \\| 0\\.0[0-9]+ \\| 0\\.[0-9]+ \\| ${tail}")
string(APPEND cpt " 1 \\| ${mem}")
set(torch "^\\| pytorch-float \\| 2 \\| ${acc} \\| ${diff} \\| 1\\.0000 \\| 16\\.0000 \\|")
string(APPEND torch " ${tail} torch 1, OpenBLAS 1 \\| peak RSS [0-9.]+ MiB \\|$")
set(panel "^The chart's forward-bits panel: cpt-3-8 \\(16 step records, forward bits 3\\.\\.8\\)")
file(STRINGS "${WORK}/training.md" table)
foreach(expect "^\\| config \\| epochs \\| test acc \\| vs float \\(pp\\) \\| BitOPs vs float \\|"
               "${float}" "${fixed}" "${cpt}" "${torch}" "^\\| 1 \\| 2 \\| [0-9]+ \\|$" "${panel}"
               "^!\\[.*\\]\\(training\\.png\\)$")
  set(found OFF)
  foreach(line IN LISTS table)
    if(line MATCHES "${expect}")
      set(found ON)
    endif()
  endforeach()
  if(NOT found)
    string(REPLACE ";" "\n" text "${table}")
    message(FATAL_ERROR "no line matching '${expect}' in training.md:\n${text}")
  endif()
endforeach()

# Bad inputs: one line on stderr naming the problem, status 2, the previous outputs untouched.
file(READ "${DATA}/float.jsonl" good)
file(WRITE "${WORK}/bad.jsonl" "${good}{\"epoch\": 3, \"test_acc\"\n")
file(STRINGS "${DATA}/cpt-3-8.jsonl" cpt REGEX "\"kind\":\"step\"")
string(REPLACE ";" "\n" cpt "${cpt}")
file(WRITE "${WORK}/steps-only.jsonl" "${cpt}\n")
file(SHA256 "${WORK}/training.md" md_before)
file(SHA256 "${WORK}/training.png" png_before)
foreach(case "bad.jsonl|bad\\.jsonl:[0-9]+: not JSON" "missing.jsonl|missing\\.jsonl: cannot read"
             "steps-only.jsonl|steps-only\\.jsonl: no epoch records")
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 file)
  list(GET case 1 pattern)
  execute_process(COMMAND "${PYTHON}" "${REPORT}" "${WORK}/${file}" ${outputs}
                  RESULT_VARIABLE status ERROR_VARIABLE stderr)
  string(STRIP "${stderr}" stderr)
  if(NOT status EQUAL 2 OR NOT stderr MATCHES "^train-report: [^\n]*${pattern}[^\n]*$")
    message(FATAL_ERROR "${file}: expected status 2 and one line matching '${pattern}', got "
                        "${status}: '${stderr}'")
  endif()
endforeach()
file(SHA256 "${WORK}/training.md" md_after)
file(SHA256 "${WORK}/training.png" png_after)
if(NOT md_before STREQUAL md_after OR NOT png_before STREQUAL png_after)
  message(FATAL_ERROR "a failed report changed training.md or training.png")
endif()
