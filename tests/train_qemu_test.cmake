# lowbit-train under QEMU against the host's (docs/design.md, "Cross-target determinism"):
#   cmake -DPART=<part> -DHOST_EXE=<host lowbit-train> -DBOARD=<qemu command|board lowbit-train>
#         -DMATCH=<lowbit-test-train-match> -DCONFIGS=<runtime/train/configs> -DDATA=<fashion-mnist>
#         -DDIR=<scratch> -P train_qemu_test.cmake
# match  fixed8-sr, 4 steps of 64 on 256 examples: the checkpoints after every step hold the same
#        integers and floats, bit for bit (tolerance 0), and the progress and epoch lines agree
# float  the default (float) config, 2 steps of 16: it trains on the board (a finite loss, the
#        summary), and its checkpoints stay within 1e-5 of each tensor's largest value of the host's
cmake_minimum_required(VERSION 3.20)

file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
string(REPLACE "|" ";" board "${BOARD}")
list(GET board -1 board_exe)
if(NOT EXISTS "${board_exe}")
  message(FATAL_ERROR "${board_exe} was not built: its configure found no zlib for the board "
                      "(zlib1g-dev:arm64 / zlib1g-dev:armhf, scripts/install-deps.sh)")
endif()

# Runs `who` (host or board) with ARGN; sets <who>_out, and stops on a failure.
function(lbt who)
  if(who STREQUAL "board")
    set(command ${board})
  else()
    set(command "${HOST_EXE}")
  endif()
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${command} ${ARGN} WORKING_DIRECTORY "${DIR}" OUTPUT_VARIABLE o
                  ERROR_VARIABLE e RESULT_VARIABLE r)
  string(TIMESTAMP t1 "%s")
  math(EXPR seconds "${t1} - ${t0}")
  message(STATUS "${who}: ${seconds} s")
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "${who} run: exit ${r}\n${o}\n${e}")
  endif()
  set(${who}_out "${o}" PARENT_SCOPE)
endfunction()

# The progress and epoch lines without their timings, which are all that may differ.
function(results text var)
  string(REGEX MATCHALL "(^|\n)(step|epoch) [^\n]*" lines "${text}")
  string(REGEX REPLACE " img/s [0-9]+| seconds [0-9.]+" "" lines "${lines}")
  set(${var} "${lines}" PARENT_SCOPE)
endfunction()

# Compares the checkpoints <prefix>-host-<step>.ckpt and -board- for steps 1..last.
function(compare prefix last tolerance)
  foreach(step RANGE 1 ${last})
    foreach(who host board)
      if(NOT EXISTS "${DIR}/${prefix}-${who}-${step}.ckpt")
        message(FATAL_ERROR "the ${who} run wrote no checkpoint at step ${step}")
      endif()
    endforeach()
    execute_process(COMMAND "${MATCH}" --tolerance ${tolerance} ${prefix}-host-${step}.ckpt
                            ${prefix}-board-${step}.ckpt
                    WORKING_DIRECTORY "${DIR}" OUTPUT_VARIABLE o ERROR_VARIABLE e
                    RESULT_VARIABLE r)
    if(NOT r EQUAL 0)
      message(FATAL_ERROR "step ${step}: the board's checkpoint differs from the host's:\n${o}${e}")
    endif()
    string(REGEX MATCH "match: [^\n]*" summary "${o}")
    message(STATUS "step ${step}: ${summary}")
  endforeach()
endfunction()

if(PART STREQUAL "match")
  set(run --config "${CONFIGS}/fixed8-sr.cfg" --data "${DATA}" --train-limit 256 --test-limit 64
          --batch 64 --epochs 1 --progress 1 --checkpoint-every 1)
  # the board on one thread, the host on two: neither changes a bit
  lbt(board ${run} --threads 1 --checkpoint sr-board-{step}.ckpt)
  lbt(host ${run} --threads 2 --checkpoint sr-host-{step}.ckpt)
  compare(sr 4 0)
  results("${host_out}" host_lines)
  results("${board_out}" board_lines)
  if(NOT host_lines STREQUAL board_lines OR NOT host_lines MATCHES "epoch 1 step 4 train_loss")
    message(FATAL_ERROR "the reported losses and accuracies differ:\nhost:${host_lines}\n"
                        "board:${board_lines}")
  endif()
elseif(PART STREQUAL "float")
  set(run --data "${DATA}" --train-limit 32 --test-limit 16 --batch 16 --epochs 1 --progress 1
          --threads 1 --checkpoint-every 1)
  lbt(board ${run} --checkpoint f-board-{step}.ckpt)
  # a NaN or infinite loss prints as nan or inf, which [0-9.] does not match
  if(NOT board_out MATCHES "step 2 epoch 1 loss [0-9]+\\.[0-9]+ acc" OR
     NOT board_out MATCHES "\nsummary: test_acc 0\\.[0-9]+ ")
    message(FATAL_ERROR "the board's float run: no finite loss or no summary:\n${board_out}")
  endif()
  lbt(host ${run} --checkpoint f-host-{step}.ckpt)
  compare(f 2 1e-5)
else()
  message(FATAL_ERROR "unknown part '${PART}'")
endif()
