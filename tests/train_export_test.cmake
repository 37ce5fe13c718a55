# lowbit-train --export, lowbit-infer and --range-test (docs/design.md, section 27), one part per
# ctest:
#   cmake -DPART=<part> -DTRAIN=<lowbit-train> -DINFER=<lowbit-infer> -DCONFIGS=<configs>
#         -DDIR=<scratch> -DDATA=<fashion-mnist folder> -P train_export_test.cmake
# export      a short integer run (fixed8-sr.cfg): lowbit-infer on the export gives the engine's
#             test accuracy exactly, at 1 and 2 threads and another batch; exporting the run's
#             checkpoint through --resume gives the same file; a float run's 8-bit export is
#             within 0.03 of the engine's accuracy
# corrupt     a truncated, a corrupted, a missing file and a checkpoint are refused: one line,
#             exit status 2
# writefail   an export whose write fails (a file size limit) leaves the old file as it was and
#             no temporary file
# range       --range-test prints a row per precision and a b_min in the range; the accuracy at
#             the highest precision is clearly above that at 2 bits
cmake_minimum_required(VERSION 3.20)

file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
set(small --data "${DATA}" --train-limit 256 --test-limit 200 --batch 32 --progress 0)

# Runs ARGN; sets out, err and rc in the caller.
function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${DIR}" OUTPUT_VARIABLE o ERROR_VARIABLE e
                  RESULT_VARIABLE r)
  set(out "${o}" PARENT_SCOPE)
  set(err "${e}" PARENT_SCOPE)
  set(rc "${r}" PARENT_SCOPE)
endfunction()

function(expect_ok what)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what}: exit ${rc}\n${out}\n${err}")
  endif()
endfunction()

# The value after `key ` in out (the last match), into the caller's variable `var`.
function(field key var)
  string(REGEX MATCHALL "${key} [0-9.]+" all "${out}")
  list(LENGTH all count)
  if(count EQUAL 0)
    message(FATAL_ERROR "no '${key}' in:\n${out}\n${err}")
  endif()
  list(GET all -1 last)
  string(REPLACE "${key} " "" value "${last}")
  set(${var} "${value}" PARENT_SCOPE)
endfunction()

# One line on stderr matching `pattern`, exit status `status`, nothing on stdout.
function(expect_error status pattern what)
  string(REGEX MATCHALL "\n" newlines "${err}")
  list(LENGTH newlines lines)
  if(NOT rc EQUAL status OR NOT lines EQUAL 1 OR NOT err MATCHES "${pattern}" OR
     NOT out STREQUAL "")
    message(FATAL_ERROR "${what}: wanted exit ${status} and one line matching '${pattern}', got "
                        "exit ${rc}, ${lines} lines:\n${err}\nstdout:\n${out}")
  endif()
endfunction()

if(PART STREQUAL "export")
  run("${TRAIN}" --config "${CONFIGS}/fixed8-sr.cfg" ${small} --epochs 1 --threads 2
      --checkpoint run.ckpt --export run.lbm)
  expect_ok("fixed8-sr run")
  field("summary: test_acc" engine)
  foreach(variant "--threads;1" "--threads;2;--batch;7")
    run("${INFER}" --model run.lbm --data "${DATA}" --test-limit 200 ${variant})
    expect_ok("lowbit-infer ${variant}")
    field("test_acc" infer)
    if(NOT infer STREQUAL engine)
      message(FATAL_ERROR "lowbit-infer ${variant}: test_acc ${infer}, the engine's ${engine}")
    endif()
  endforeach()
  if(NOT out MATCHES "images_per_second [0-9]+ model_bytes [1-9][0-9]+")
    message(FATAL_ERROR "lowbit-infer: no images per second or model bytes:\n${out}")
  endif()
  run("${TRAIN}" --resume run.ckpt --data "${DATA}" --progress 0 --epochs 1 --export resumed.lbm)
  expect_ok("export from --resume")
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${DIR}/run.lbm"
                          "${DIR}/resumed.lbm" RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "the export after the run and the one from its checkpoint differ")
  endif()
  run("${TRAIN}" --config "${CONFIGS}/float.cfg" ${small} --train-limit 64 --test-limit 100
      --batch 16 --epochs 1 --threads 2 --export f.lbm)
  expect_ok("float run")
  field("summary: test_acc" engine)
  run("${INFER}" --model f.lbm --data "${DATA}" --test-limit 100 --threads 2)
  expect_ok("lowbit-infer of the float run")
  field("test_acc" infer)
  string(REPLACE "." "" e "${engine}")
  string(REPLACE "." "" i "${infer}")
  math(EXPR diff "${e} - ${i}")
  if(diff GREATER 300 OR diff LESS -300)
    message(FATAL_ERROR "float export: test_acc ${infer}, the engine's ${engine} (> 0.03 apart)")
  endif()
elseif(PART STREQUAL "corrupt")
  run("${TRAIN}" --config "${CONFIGS}/fixed8-sr.cfg" ${small} --train-limit 64 --epochs 1
      --threads 2 --checkpoint c.ckpt --export good.lbm)
  expect_ok("run")
  file(SIZE "${DIR}/good.lbm" size)
  math(EXPR half "${size} / 2")
  execute_process(COMMAND head -c ${half} good.lbm OUTPUT_FILE "${DIR}/cut.lbm"
                  WORKING_DIRECTORY "${DIR}")
  file(COPY_FILE "${DIR}/good.lbm" "${DIR}/flip.lbm")
  execute_process(COMMAND sh -c "printf X | dd of=flip.lbm bs=1 seek=${half} conv=notrunc"
                  WORKING_DIRECTORY "${DIR}" OUTPUT_QUIET ERROR_QUIET)
  foreach(case "cut.lbm;cut.lbm: truncated" "flip.lbm;flip.lbm: checksum mismatch"
               "c.ckpt;c.ckpt: not an exported model" "none.lbm;none.lbm: ")
    list(GET case 0 file)
    list(GET case 1 pattern)
    run("${INFER}" --model ${file} --data "${DATA}" --test-limit 10)
    expect_error(2 "^lowbit-infer: ${pattern}" "${file}")
  endforeach()
  run("${INFER}" --data "${DATA}")
  expect_error(2 "--model FILE is required" "no --model")
  run("${INFER}" --model good.lbm --data "${DATA}" --test-limit 10)
  expect_ok("the intact export")
elseif(PART STREQUAL "writefail")
  file(WRITE "${DIR}/old.lbm" "the previous export\n")
  # 100 blocks of 512 bytes hold a fraction of the model; SIGXFSZ is ignored, so the write fails
  # with EFBIG and lowbit-train must clean up (a killed writer would leave only the .tmp file)
  run(sh -c "trap '' XFSZ && ulimit -f 100 && exec \"$0\" \"$@\"" "${TRAIN}" --config
      "${CONFIGS}/fixed8-sr.cfg" ${small} --train-limit 64 --epochs 1 --threads 2 --export old.lbm)
  if(rc EQUAL 0 OR NOT err MATCHES "old.lbm")
    message(FATAL_ERROR "a failed export: exit ${rc}, stderr:\n${err}")
  endif()
  file(READ "${DIR}/old.lbm" old)
  if(NOT old STREQUAL "the previous export\n" OR EXISTS "${DIR}/old.lbm.tmp")
    message(FATAL_ERROR "a failed export changed old.lbm or left old.lbm.tmp:\n${err}")
  endif()
elseif(PART STREQUAL "range")
  set(cfg --config "${CONFIGS}/fixed8-sr.cfg" --data "${DATA}" --train-limit 640 --test-limit 10
          --batch 32 --progress 0 --threads 2 --range-test)
  run("${TRAIN}" ${cfg} --range-steps 12)
  expect_ok("range test")
  foreach(bits 2 3 4 5 6 7 8)
    if(NOT out MATCHES "\nrange-test: ${bits} (0\\.[0-9]+) [0-9]+\\.[0-9]+\n")
      message(FATAL_ERROR "range test: no finite row for ${bits} bits:\n${out}")
    endif()
    string(REGEX REPLACE "^0\\.0*([0-9])" "\\1" acc${bits} "${CMAKE_MATCH_1}")
  endforeach()
  if(NOT out MATCHES "\nrange-test: b_min ([2-8])\n")
    message(FATAL_ERROR "range test: no b_min in 2..8:\n${out}")
  endif()
  # 2-bit codes cannot train this network (their rounding wipes the activations out), 8-bit ones
  # do: b_min is above 2 and the accuracy rises by more than 0.08 between them
  math(EXPR rise "${acc8} - ${acc2}")
  if(CMAKE_MATCH_1 EQUAL 2 OR rise LESS 800)
    message(FATAL_ERROR "range test: b_min ${CMAKE_MATCH_1}, accuracy 2 -> 8 bits rose by "
                        "${rise} / 10000:\n${out}")
  endif()
  run("${TRAIN}" ${cfg} --range-steps 2 --range-bits 7..8 --range-mode carry)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "weights carried over.*\nrange-test: 8 0\\.")
    message(FATAL_ERROR "range test, carry mode: exit ${rc}\n${out}\n${err}")
  endif()
  foreach(case "--range-bits;2..9;do not fit" "--range-bits;5..3;not LO..HI"
               "--range-mode;up;neither restart nor carry")
    list(GET case 0 flag)
    list(GET case 1 value)
    list(GET case 2 pattern)
    run("${TRAIN}" ${cfg} ${flag} ${value})
    if(NOT rc EQUAL 2 OR NOT err MATCHES "${pattern}")
      message(FATAL_ERROR "range test ${flag} ${value}: exit ${rc}, stderr:\n${err}")
    endif()
  endforeach()
  run("${TRAIN}" --config "${CONFIGS}/float.cfg" --data "${DATA}" --train-limit 64 --test-limit 10
      --range-test)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "needs integer layers")
    message(FATAL_ERROR "range test of a float model: exit ${rc}, stderr:\n${err}")
  endif()
else()
  message(FATAL_ERROR "unknown part '${PART}'")
endif()
