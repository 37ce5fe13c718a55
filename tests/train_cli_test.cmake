# lowbit-train's tests (docs/design.md, section 25), one part per ctest:
#   cmake -DPART=<part> -DEXE=<lowbit-train> -DCONFIGS=<runtime/train/configs> -DDIR=<scratch>
#         -DDATA=<fashion-mnist folder> -P train_cli_test.cmake
# tiny        a small float run (the built-in config) reaches a finite loss and prints the summary
# resume      2 epochs in one run and 1 epoch + --resume give byte-identical final checkpoints;
#             so do a run with periodic checkpoints, a run killed (kill -9) and resumed, and a
#             CPT run (its schedule position)
# threads     1 and 2 threads give byte-identical checkpoints
# config      bad config lines: one line naming file:line, exit status 2
# flags       bad flags and values: one line, exit status 2, no output file; a bad data folder
# checkpoint  a truncated or corrupted checkpoint is refused with a clear error; {step} in
#             --checkpoint keeps one file per checkpoint
# fp8, hbfp8  the shipped fp8-e5m2.cfg and hbfp8.cfg learn in 8 steps; fp8 reports its scale
cmake_minimum_required(VERSION 3.20)

file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
set(small --data "${DATA}" --train-limit 256 --test-limit 64 --batch 32 --progress 0)

# Runs lowbit-train with ARGN; sets out, err and rc in the caller.
function(lbt)
  execute_process(COMMAND "${EXE}" ${ARGN} WORKING_DIRECTORY "${DIR}" OUTPUT_VARIABLE o
                  ERROR_VARIABLE e RESULT_VARIABLE r)
  set(out "${o}" PARENT_SCOPE)
  set(err "${e}" PARENT_SCOPE)
  set(rc "${r}" PARENT_SCOPE)
endfunction()

function(expect_ok what)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what}: exit ${rc}\n${out}\n${err}")
  endif()
endfunction()

function(expect_same a b what)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${DIR}/${a}" "${DIR}/${b}"
                  RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "${what}: ${a} and ${b} differ")
  endif()
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

if(PART STREQUAL "tiny")
  lbt(--data "${DATA}" --train-limit 256 --test-limit 128 --epochs 1 --batch 32 --progress 4
      --log tiny.log)
  expect_ok("tiny run")
  set(summary "\nsummary: test_acc 0\\.[0-9]+ bitops_vs_float 1\\.0000 bitops_vs_8_8 16\\.0000")
  string(APPEND summary " images_per_second [0-9]+ arena_bytes [1-9][0-9]*")
  # a NaN or infinite loss prints as nan or inf, which [0-9.] does not match
  if(NOT out MATCHES "step 8 epoch 1 loss [0-9]+\\.[0-9]+ acc" OR NOT out MATCHES "${summary}")
    message(FATAL_ERROR "tiny run: no finite progress loss or no summary:\n${out}")
  endif()
  # a step record per progress line (steps 4 and 8), then the epoch's record
  file(STRINGS "${DIR}/tiny.log" log)
  set(step "^\\{\"kind\":\"step\",\"step\":STEP,\"epoch\":1,\"loss\":[0-9.]+,\"acc\":0\\.[0-9]+,")
  string(APPEND step "\"train_acc\":0\\.[0-9]+,\"images_per_second\":[0-9.]+,\"fw_bits\":32,")
  string(APPEND step "\"bw_bits\":32,\"loss_scale\":1}$")
  string(REPLACE STEP 4 step4 "${step}")
  string(REPLACE STEP 8 step8 "${step}")
  set(epoch "^\\{\"epoch\":1,\"step\":8,\"train_loss\":[0-9.]+,.*\"test_acc\":0\\.")
  string(APPEND epoch ".*\"bitops_vs_float\":1\\.0+,.*\"images_per_second\":[0-9.]+,")
  string(APPEND epoch "\"threads\":[0-9]+,\"arena_bytes\":[1-9][0-9]*,")
  string(APPEND epoch "\"peak_rss_bytes\":[1-9][0-9]*,\"kind\":\"epoch\"}$")
  list(LENGTH log lines)
  set(first "") # list(GET) of a missing line is an error of its own
  set(second "")
  set(last "")
  if(lines EQUAL 3)
    list(GET log 0 first)
    list(GET log 1 second)
    list(GET log 2 last)
  endif()
  if(NOT first MATCHES "${step4}" OR NOT second MATCHES "${step8}" OR NOT last MATCHES "${epoch}")
    string(REPLACE ";" "\n" text "${log}")
    message(FATAL_ERROR "tiny run: bad log (${lines} lines):\n${text}")
  endif()
elseif(PART STREQUAL "resume")
  set(cfg --config "${CONFIGS}/fixed8-sr.cfg")
  lbt(${cfg} ${small} --epochs 2 --threads 2 --checkpoint full.ckpt)
  expect_ok("2 epochs")
  lbt(${cfg} ${small} --epochs 1 --threads 2 --checkpoint half.ckpt)
  expect_ok("1 epoch")
  lbt(--resume half.ckpt --data "${DATA}" --progress 0 --epochs 2 --threads 2 --checkpoint
      resumed.ckpt)
  expect_ok("resume")
  expect_same(full.ckpt resumed.ckpt "2 epochs against 1 + resume")
  # periodic checkpoints leave the run alone
  lbt(${cfg} ${small} --epochs 2 --threads 2 --checkpoint every.ckpt --checkpoint-every 5)
  expect_ok("checkpoint every 5 steps")
  expect_same(full.ckpt every.ckpt "checkpoints every 5 steps end as the plain run")
  # kill -9 wherever it lands (mid-epoch, mid-write, or after the end), then resume: the same run
  execute_process(COMMAND sh -c "'${EXE}' \"$@\" & p=$!; i=0; while [ ! -f kill.ckpt ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done; sleep 0.15; kill -9 $p; wait $p; exit 0"
                  lbt ${cfg} ${small} --epochs 2 --threads 2 --checkpoint kill.ckpt --checkpoint-every 1
                  WORKING_DIRECTORY "${DIR}" OUTPUT_QUIET ERROR_QUIET)
  lbt(--resume kill.ckpt --data "${DATA}" --progress 0 --epochs 2 --threads 1 --checkpoint kill.ckpt)
  expect_ok("resume after kill -9")
  string(REGEX MATCH "resuming [^ ]+ at step [0-9]+" at "${out}")
  message(STATUS "kill -9: ${at}")
  expect_same(full.ckpt kill.ckpt "2 epochs against kill -9 + resume")
  # the CPT schedule's position is restored too (schedule_steps explicit, so 1 + 1 epochs match 2)
  set(cpt --config "${CONFIGS}/cpt-3-8.cfg")
  file(READ "${CONFIGS}/cpt-3-8.cfg" text)
  file(WRITE "${DIR}/cpt.cfg" "${text}schedule_steps = 16\ncycles = 2\n")
  lbt(--config cpt.cfg ${small} --epochs 2 --threads 1 --checkpoint cpt-full.ckpt)
  expect_ok("cpt 2 epochs")
  if(NOT out MATCHES "fw 3\\.\\.8 bw 8")
    message(FATAL_ERROR "cpt run: the forward bits did not cycle through 3..8:\n${out}")
  endif()
  lbt(--config cpt.cfg ${small} --epochs 1 --threads 1 --checkpoint cpt-half.ckpt)
  expect_ok("cpt 1 epoch")
  lbt(--resume cpt-half.ckpt --data "${DATA}" --progress 0 --epochs 2 --threads 1 --checkpoint
      cpt-resumed.ckpt)
  expect_ok("cpt resume")
  expect_same(cpt-full.ckpt cpt-resumed.ckpt "cpt: 2 epochs against 1 + resume")
elseif(PART STREQUAL "threads")
  foreach(t 1 2)
    lbt(--config "${CONFIGS}/fixed8-sr.cfg" ${small} --epochs 1 --threads ${t} --checkpoint
        t${t}.ckpt)
    expect_ok("fixed8-sr, ${t} threads")
    lbt(--config "${CONFIGS}/float.cfg" --data "${DATA}" --train-limit 64 --test-limit 32
        --batch 32 --progress 0 --epochs 1 --threads ${t} --checkpoint f${t}.ckpt)
    expect_ok("float, ${t} threads")
  endforeach()
  expect_same(t1.ckpt t2.ckpt "fixed8-sr: 1 against 2 threads")
  expect_same(f1.ckpt f2.ckpt "float: 1 against 2 threads")
elseif(PART STREQUAL "config")
  string(REPEAT " stride=1" 31 long_tail)
  set(cases
      "unknown key|epochs = 2\nbatchsize = 3\n|bad.cfg:2: unknown key 'batchsize'"
      "bad number|# comment\n\nlr = 0.05x\n|bad.cfg:3: lr: '0.05x' is not a number"
      "bad whole number|epochs = -1\n|bad.cfg:1: epochs: '-1' is not a whole number"
      "unknown layer|layer conv2d 8\nlayer pooling 2\n|bad.cfg:2: unknown layer 'pooling'"
      "bad format|weights = fixed:20:3\n|bad.cfg:1: bad fixed format 'fixed:20:3'"
      "bad layer setting|layer conv2d 8 size=3\n|bad.cfg:1: conv2d has no setting 'size'"
      "no value|seed =\n|bad.cfg:1: seed has no value"
      "not a line|hello\n|bad.cfg:1: 'hello' is neither"
      "long layer line|layer dense 10${long_tail}\n|bad.cfg:1: a layer line has at most 32 words, not 33"
      "last layer|layer conv2d 8\nlayer relu\nlayer dense 12\n|bad.cfg:3: the last layer must be dense 10"
      "conv after dense|layer dense 8\nlayer conv2d 8\nlayer dense 10\n|bad.cfg:2: conv2d after a flatten or dense"
      "bad master|seed = 3\nmaster = fixed:16:8\n|bad.cfg:2: master: 'fixed:16:8' is not none, float, minifloat:E:M or bfp:M:BLOCK"
      "wide master|master = minifloat:8:10\n|bad.cfg:1: master: 'minifloat:8:10' is not"
      "master on fixed|master = minifloat:5:10\nweights = fixed:8:6\nactivations = fixed:8:4\nerrors = fixed:8:12\nlayer dense 10\n|bad.cfg:5: master = minifloat:5:10:nearest is for float-path layers"
      "bad loss scale|\nloss_scale = dynamic:1000\n|bad.cfg:2: loss_scale: 'dynamic:1000' is not none, static:S or dynamic:S"
      "loss scale mode|loss_scale = always:16\n|bad.cfg:1: loss_scale: 'always:16' is not none"
      "loss scale setting|loss_scale = dynamic:256:every=5\n|bad.cfg:1: loss_scale: 'every=5' in 'dynamic:256:every=5' is not interval=N"
      "static setting|loss_scale = static:256:interval=5\n|bad.cfg:1: loss_scale: 'interval=5' in 'static:256:interval=5' is not allowed"
      "loss scale floor|loss_scale = dynamic:256:floor=512\n|bad.cfg:1: loss_scale: 'dynamic:256:floor=512' does not hold floor <= scale")
  foreach(case IN LISTS cases)
    string(REPLACE "|" ";" parts "${case}")
    list(GET parts 0 what)
    list(GET parts 1 text)
    list(GET parts 2 pattern)
    string(REPLACE "\\n" "\n" text "${text}")
    file(WRITE "${DIR}/bad.cfg" "${text}")
    lbt(--config bad.cfg --data "${DIR}/no-such-folder" --log never.log)
    expect_error(2 "^lowbit-train: ${pattern}" "config: ${what}")
  endforeach()
  # a byte that is not text is refused with its line, not cut off there (a NUL would be)
  string(ASCII 1 control)
  file(WRITE "${DIR}/bad.cfg" "epochs = 2\nseed = 1${control}2\n")
  lbt(--config bad.cfg --data "${DIR}/no-such-folder")
  expect_error(2 "^lowbit-train: bad.cfg:2: byte 0x01 is not text" "config: control byte")
  lbt(--config "${CMAKE_CURRENT_LIST_DIR}/train_cli_nul.cfg" --data "${DIR}/no-such-folder")
  expect_error(2 "^lowbit-train: .*train_cli_nul.cfg:2: byte 0x00 is not text" "config: NUL byte")
  lbt(--config "${DIR}/missing.cfg")
  expect_error(2 "missing.cfg: No such file" "config: missing file")
  if(EXISTS "${DIR}/never.log")
    message(FATAL_ERROR "config: a refused run created its log")
  endif()
  # every shipped config parses and passes the checks (a bad data folder stops it after them)
  file(GLOB shipped "${CONFIGS}/*.cfg")
  foreach(c IN LISTS shipped)
    lbt(--config "${c}" --data "${DIR}/no-such-folder")
    expect_error(1 "no-such-folder/train-images-idx3-ubyte.gz" "shipped config ${c}")
  endforeach()
elseif(PART STREQUAL "fp8" OR PART STREQUAL "hbfp8")
  # the shipped low-precision config on 256 images: it learns (chance is 0.1), with FP8 the
  # progress line shows the loss scale and the summary its skipped steps
  set(cfg "${CONFIGS}/${PART}.cfg")
  if(PART STREQUAL "fp8")
    set(cfg "${CONFIGS}/fp8-e5m2.cfg")
  endif()
  lbt(--config "${cfg}" --data "${DATA}" --train-limit 256 --test-limit 64 --batch 32
      --progress 4 --epochs 1 --threads 2)
  expect_ok("${PART}: a tiny run")
  if(NOT out MATCHES "summary: test_acc (0\\.[0-9]+)")
    message(FATAL_ERROR "${PART}: no summary\n${out}")
  endif()
  set(acc "${CMAKE_MATCH_1}")
  if(acc LESS 0.25)
    message(FATAL_ERROR "${PART}: test accuracy ${acc} after 8 steps, chance is 0.1\n${out}")
  endif()
  if(PART STREQUAL "fp8" AND (NOT out MATCHES "step 4 epoch 1 .* scale 1024\n"
                              OR NOT out MATCHES "skipped_steps [0-9]+ scale [0-9]+"))
    message(FATAL_ERROR "fp8: the loss scale is not reported\n${out}")
  endif()
elseif(PART STREQUAL "flags")
  set(cases
      "--epochs,x|--epochs: 'x' is not a whole number"
      "--lr,-1|--lr: '-1' is not a number in 0..100"
      "--threads,0|--threads: '0' is not a whole number in 1..256"
      "--progress,1e3|--progress: '1e3' is not a whole number"
      "--bogus,1|unknown flag '--bogus'"
      "--batch|--batch needs a value"
      "stray|unexpected argument 'stray'"
      "--checkpoint-every,5|--checkpoint-every needs --checkpoint"
      "--resume,x.ckpt,--lr,0.1|--resume continues the checkpoint's run, whose lr cannot change"
      "--resume,x.ckpt,--config,a.cfg|--resume takes the run's config from the checkpoint")
  foreach(case IN LISTS cases)
    string(REPLACE "|" ";" parts "${case}")
    list(POP_BACK parts pattern)
    string(REPLACE "," ";" parts "${parts}")
    lbt(--log never.log ${parts})
    expect_error(2 "^lowbit-train: ${pattern}" "flags: ${parts}")
  endforeach()
  lbt(--data "${DIR}" --log never.log --checkpoint never.ckpt)
  expect_error(1 "train-images-idx3-ubyte.gz" "flags: a folder without the data")
  file(GLOB left "${DIR}/never*")
  if(left)
    message(FATAL_ERROR "flags: a refused run left files: ${left}")
  endif()
  lbt(--data "${DATA}" --train-limit 16 --batch 32)
  expect_error(2 "16 training examples are fewer than the batch of 32" "flags: batch > data")
  lbt(--help)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "usage: lowbit-train.*--resume FILE")
    message(FATAL_ERROR "--help: exit ${rc}\n${out}")
  endif()
elseif(PART STREQUAL "checkpoint")
  lbt(--config "${CONFIGS}/fixed8-sr.cfg" ${small} --epochs 1 --checkpoint good.ckpt)
  expect_ok("checkpoint run")
  file(SIZE "${DIR}/good.ckpt" size)
  math(EXPR half "${size} / 2")
  execute_process(COMMAND head -c ${half} good.ckpt OUTPUT_FILE "${DIR}/cut.ckpt"
                  WORKING_DIRECTORY "${DIR}")
  lbt(--resume cut.ckpt --data "${DATA}" --epochs 2)
  expect_error(1 "cut.ckpt: truncated" "truncated checkpoint")
  file(COPY_FILE "${DIR}/good.ckpt" "${DIR}/flip.ckpt")
  execute_process(COMMAND sh -c "printf X | dd of=flip.ckpt bs=1 seek=${half} conv=notrunc"
                  WORKING_DIRECTORY "${DIR}" OUTPUT_QUIET ERROR_QUIET)
  lbt(--resume flip.ckpt --data "${DATA}" --epochs 2)
  expect_error(1 "flip.ckpt: checksum mismatch" "corrupted checkpoint")
  lbt(--resume good.ckpt --data "${DATA}" --epochs 2 --progress 0)
  expect_ok("the intact checkpoint")
  # {step} keeps every checkpoint, each the run's state at its step
  lbt(--config "${CONFIGS}/fixed8-sr.cfg" ${small} --epochs 1 --checkpoint keep-{step}.ckpt
      --checkpoint-every 3)
  expect_ok("checkpoints kept per step")
  file(GLOB kept RELATIVE "${DIR}" "${DIR}/keep-*")
  list(SORT kept)
  if(NOT kept STREQUAL "keep-3.ckpt;keep-6.ckpt;keep-8.ckpt")
    message(FATAL_ERROR "--checkpoint keep-{step}.ckpt --checkpoint-every 3 wrote: ${kept}")
  endif()
  expect_same(good.ckpt keep-8.ckpt "the epoch's last kept checkpoint against the plain run")
else()
  message(FATAL_ERROR "unknown part '${PART}'")
endif()
