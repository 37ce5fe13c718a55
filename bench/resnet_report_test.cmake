# bench.resnet.report: lowbit-bench-resnet on one small layer (C12) and two configurations (the
# baseline and A1W1u) at a tiny minimum time into a JSON file, then scripts/resnet-report.py over
# it; the table and the chart must exist and the table must hold both rows with a speedup, and a
# file that is not JSON must fail with one line and leave the outputs alone. Where the CPU has
# lowbit's AVX-512 family, the native run's rows are "<config>@avx512": a second run with
# --isa=avx2 joins the report, which must then hold both kinds, and the same file given twice must
# be refused. Pipeline, not speed.
# cmake -DBENCH=lowbit-bench-resnet -DPYTHON=python3 -DREPORT=resnet-report.py -DWORK=dir -P
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(json "${WORK}/resnet.json")
function(run_bench isa out)
  execute_process(COMMAND "${BENCH}" --threads=1 --isa=${isa}
                          "--benchmark_filter=^C12/(int16|A1W1u)(@avx512)?/t1"
                          --benchmark_min_time=0.001 --benchmark_repetitions=2
                          "--benchmark_out=${out}" --benchmark_out_format=json
                  RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE stderr)
  if(NOT status EQUAL 0 OR NOT EXISTS "${out}")
    message(FATAL_ERROR "lowbit-bench-resnet --isa=${isa} failed (${status}): ${stderr}")
  endif()
endfunction()
run_bench(native "${json}")
set(jsons "${json}")
file(READ "${json}" native_text)
string(FIND "${native_text}" "@avx512/t1" avx512_at)
set(expect_avx512 "")
if(NOT avx512_at EQUAL -1)
  set(json_avx2 "${WORK}/resnet-avx2.json")
  run_bench(avx2 "${json_avx2}")
  list(APPEND jsons "${json_avx2}")
  set(expect_avx512
      "^\\| int16@avx512 \\| [0-9.]+ / 1\\.00x( \\\\\\*)? \\| [0-9.]+ / 1\\.00x \\|$"
      "^\\| A1W1u@avx512 \\| [0-9.]+ / [0-9.]+x( \\\\\\*)? \\| [0-9.]+ / [0-9.]+x \\|$"
      "^\\| A1W1u@avx512 \\| lb_gemm_[^;]+__avx512; u1 x u1; LB_AUTO; codes in, codes out")
  execute_process(COMMAND "${PYTHON}" "${REPORT}" "${json}" "${json}" --md "${WORK}/twice.md"
                          --png "${WORK}/twice.png"
                  RESULT_VARIABLE status ERROR_VARIABLE stderr)
  string(STRIP "${stderr}" stderr)
  if(NOT status EQUAL 2 OR NOT stderr MATCHES "^[^\n]*also in an earlier file$" OR
     EXISTS "${WORK}/twice.md")
    message(FATAL_ERROR "the same file twice: expected status 2 and one line, got ${status}: "
                        "'${stderr}'")
  endif()
endif()

execute_process(COMMAND "${PYTHON}" "${REPORT}" ${jsons} --md "${WORK}/resnet18.md"
                        --png "${WORK}/resnet18.png" --command "bench.resnet.report"
                RESULT_VARIABLE status ERROR_VARIABLE stderr)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "resnet-report.py failed (${status}): ${stderr}")
endif()
foreach(out resnet18.md resnet18.png)
  file(SIZE "${WORK}/${out}" size)
  if(size EQUAL 0)
    message(FATAL_ERROR "${out} is empty")
  endif()
endforeach()
file(READ "${WORK}/resnet18.png" magic LIMIT 4 HEX)
if(NOT magic STREQUAL "89504e47")
  message(FATAL_ERROR "resnet18.png is not a PNG (starts with ${magic})")
endif()
file(STRINGS "${WORK}/resnet18.md" table)
foreach(expect "^\\| config \\| C12 \\| conv median \\|$"
               "^\\| int16 \\| [0-9.]+ / 1\\.00x( \\\\\\*)? \\| [0-9.]+ / 1\\.00x \\|$"
               "^\\| A1W1u \\| [0-9.]+ / [0-9.]+x( \\\\\\*)? \\| [0-9.]+ / [0-9.]+x \\|$"
               "^\\| A1W1u \\| lb_gemm_[^;]+; u1 x u1; LB_AUTO; codes in, codes out"
               ${expect_avx512})
  set(found OFF)
  foreach(line IN LISTS table)
    if(line MATCHES "${expect}")
      set(found ON)
    endif()
  endforeach()
  if(NOT found)
    string(REPLACE ";" "\n" text "${table}")
    message(FATAL_ERROR "no line matching '${expect}' in resnet18.md:\n${text}")
  endif()
endforeach()

# A bad input: one line on stderr, status 2, the previous outputs untouched.
file(WRITE "${WORK}/bad.json" "{\"context\": {}, \"benchmarks\": [")
file(SHA256 "${WORK}/resnet18.md" before)
execute_process(COMMAND "${PYTHON}" "${REPORT}" "${WORK}/bad.json" --md "${WORK}/resnet18.md"
                        --png "${WORK}/resnet18.png"
                RESULT_VARIABLE status ERROR_VARIABLE stderr)
string(STRIP "${stderr}" stderr)
if(NOT status EQUAL 2 OR NOT stderr MATCHES "^[^\n]*bad\\.json: not JSON[^\n]*$")
  message(FATAL_ERROR "bad JSON: expected status 2 and one line, got ${status}: '${stderr}'")
endif()
file(SHA256 "${WORK}/resnet18.md" after)
if(NOT before STREQUAL after)
  message(FATAL_ERROR "a failed report changed resnet18.md")
endif()
