# Generates one GEMM kernel and its pack kernels with lowbit-gen, compiles them together with
# standalone_gemm.c outside the project's build and runs the result against the int64 reference:
# ISA generic or neon for aarch64-neon (aarch64-linux-gnu-gcc, run under qemu-aarch64), ISA avx2
# for x86-avx2 (the host compiler CC with the target's flags, run here when the CPU has AVX2).
# Skips, saying so, when the tools, the templates or the CPU are missing. Kernel names are the
# ones lowbit-gen prints; the K block is read from the kernel's name.
# Inputs: LOWBIT_GEN, SOURCE_DIR, WORK_DIR, ISA, CC (avx2), STRATEGY, TILE, GEN_A, GEN_W,
# FORMAT (direct), and DATA_A, DATA_W: the operands of the test data (<bits><u|s|b>).
if(ISA STREQUAL "avx2")
  set(avx2 OFF)
  if(EXISTS /proc/cpuinfo)
    file(STRINGS /proc/cpuinfo cpu_flags REGEX "^flags")
    if(cpu_flags MATCHES "[ \t]avx2([ \t;]|$)")
      set(avx2 ON)
    endif()
  endif()
  if(NOT avx2)
    message("SKIPPED: this CPU lacks AVX2 (no avx2 in the flags of /proc/cpuinfo)")
    return()
  endif()
  # The flags every x86-avx2 kernel of the AVX2 family is built with (docs/design.md, section 8).
  file(STRINGS "${SOURCE_DIR}/targets/x86-avx2.target" target_lines REGEX "^cflags(\\.avx2)?[ \t]*=")
  set(cflags "")
  foreach(line IN LISTS target_lines)
    string(REGEX REPLACE "^[^=]*=" "" value "${line}")
    separate_arguments(value UNIX_COMMAND "${value}")
    list(APPEND cflags ${value})
  endforeach()
  set(compiler "${CC}")
  set(gen_target --target x86-avx2)
  set(run "")
else()
  find_program(cross_cc aarch64-linux-gnu-gcc)
  find_program(qemu qemu-aarch64)
  if(NOT cross_cc OR NOT qemu)
    message("SKIPPED: aarch64-linux-gnu-gcc or qemu-aarch64 is not installed")
    return()
  endif()
  set(cflags -mcpu=cortex-a53)
  set(compiler "${cross_cc}")
  set(gen_target --target aarch64-neon --mcpu cortex-a53)
  set(run "${qemu}" -L /usr/aarch64-linux-gnu)
endif()

if(STRATEGY STREQUAL "direct")
  set(gemm_template gemm-direct.c.in)
  if(FORMAT STREQUAL "u8s8")
    set(a_code u8)
    set(w_code s8)
  else()
    set(a_code ${FORMAT})
    set(w_code ${FORMAT})
  endif()
  set(pack_template pack-direct.c.in)
else()
  set(gemm_template gemm-bitserial.c.in)
  set(a_code bitplanes)
  set(w_code bitplanes)
  set(pack_template pack-bitplanes.c.in)
endif()
if(NOT EXISTS "${SOURCE_DIR}/templates/${ISA}/${gemm_template}" OR
   NOT EXISTS "${SOURCE_DIR}/templates/${ISA}/${pack_template}")
  message("SKIPPED: templates/${ISA} has no ${gemm_template} or ${pack_template} yet")
  return()
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
set(gen "${LOWBIT_GEN}" ${gen_target} --isa ${ISA} -o "${WORK_DIR}")

function(generate out_name)
  execute_process(COMMAND ${gen} ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE name
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0 OR NOT EXISTS "${WORK_DIR}/${name}.c")
    message(FATAL_ERROR "lowbit-gen ${ARGN} failed with status ${status}, printing '${name}'")
  endif()
  set(${out_name} "${name}" PARENT_SCOPE)
endfunction()

set(operands "")
if(GEN_A)
  list(APPEND operands --a ${GEN_A} --w ${GEN_W})
endif()
if(FORMAT)
  list(APPEND operands --format ${FORMAT})
endif()
generate(gemm --op gemm --strategy ${STRATEGY} --tile ${TILE} ${operands})
string(REGEX MATCH "^([0-9]+)x([0-9]+)$" unused "${TILE}")
set(mr ${CMAKE_MATCH_1})
set(nr ${CMAKE_MATCH_2})
if(NOT gemm MATCHES "_k([0-9]+)(_|$)")
  message(FATAL_ERROR "no K block (_k<number>) in the kernel name ${gemm}")
endif()
set(kblock ${CMAKE_MATCH_1})
generate(pack_a --op pack --code ${a_code} --rows ${mr} --kblock ${kblock})
generate(pack_w --op pack --code ${w_code} --rows ${nr} --kblock ${kblock})
message(STATUS "kernels: ${gemm} ${pack_a} ${pack_w}")

set(codes_bitplanes LB_CODE_BITPLANES)
set(codes_s8 LB_CODE_S8)
set(codes_u8 LB_CODE_U8)
set(codes_s16 LB_CODE_S16)
string(REGEX MATCH "^([0-9]+)([usb])$" unused "${DATA_A}")
set(abits ${CMAKE_MATCH_1})
set(aenc ${CMAKE_MATCH_2})
string(REGEX MATCH "^([0-9]+)([usb])$" unused "${DATA_W}")
set(wbits ${CMAKE_MATCH_1})
set(wenc ${CMAKE_MATCH_2})
set(strategy_bitserial LB_STRATEGY_BITSERIAL)
set(strategy_bitserial-xor LB_STRATEGY_BITSERIAL_XOR)
set(strategy_direct LB_STRATEGY_DIRECT)
file(WRITE "${WORK_DIR}/standalone_config.h"
"#include <lowbit/ukernel.h>
#include \"${gemm}.h\"
#include \"${pack_a}.h\"
#include \"${pack_w}.h\"
#define LB_TEST_NAME \"${gemm}\"
#define LB_TEST_GEMM ${gemm}
#define LB_TEST_PACK_A ${pack_a}
#define LB_TEST_PACK_W ${pack_w}
#define LB_TEST_STRATEGY ${strategy_${STRATEGY}}
#define LB_TEST_MR ${mr}
#define LB_TEST_NR ${nr}
#define LB_TEST_KBLOCK ${kblock}
#define LB_TEST_ABITS ${abits}
#define LB_TEST_AENC '${aenc}'
#define LB_TEST_WBITS ${wbits}
#define LB_TEST_WENC '${wenc}'
#define LB_TEST_A_CODE ${codes_${a_code}}
#define LB_TEST_W_CODE ${codes_${w_code}}
")

set(sources "${SOURCE_DIR}/tests/generator/standalone_gemm.c" "${WORK_DIR}/${gemm}.c"
            "${WORK_DIR}/${pack_a}.c")
if(NOT pack_w STREQUAL pack_a)
  list(APPEND sources "${WORK_DIR}/${pack_w}.c")
endif()
# No -DNDEBUG: the kernels' precondition asserts run too.
execute_process(COMMAND "${compiler}" -std=c11 -O2 ${cflags} -Wall -Wextra -Werror
                        "-I${SOURCE_DIR}/runtime/include" "-I${WORK_DIR}" ${sources}
                        -o "${WORK_DIR}/standalone_gemm"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${compiler} failed on the generated kernel")
endif()
execute_process(COMMAND ${run} "${WORK_DIR}/standalone_gemm" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${gemm} does not match the reference (${ISA}, status ${status})")
endif()
