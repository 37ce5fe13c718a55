# Generates one GEMM kernel and its pack kernels for aarch64-neon with lowbit-gen, cross-compiles
# them with aarch64-linux-gnu-gcc together with standalone_gemm.c and runs the result under
# qemu-aarch64. Skips, saying so, when the templates of ISA or the tools are missing.
# Inputs: LOWBIT_GEN, SOURCE_DIR, WORK_DIR, ISA (generic or neon), STRATEGY, TILE, GEN_A, GEN_W,
# FORMAT (direct), and
# DATA_A, DATA_W: the operands of the test data (<bits><u|s|b>).
find_program(cross_cc aarch64-linux-gnu-gcc)
find_program(qemu qemu-aarch64)
if(NOT cross_cc OR NOT qemu)
  message("SKIPPED: aarch64-linux-gnu-gcc or qemu-aarch64 is not installed")
  return()
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
set(gen "${LOWBIT_GEN}" --target aarch64-neon --mcpu cortex-a53 --isa ${ISA} -o "${WORK_DIR}")

function(generate out_name)
  execute_process(COMMAND ${gen} ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE name
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "lowbit-gen ${ARGN} failed with status ${status}")
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
string(REGEX MATCH "_([0-9]+)x([0-9]+)_k([0-9]+)__" tile_match "${gemm}")
set(mr ${CMAKE_MATCH_1})
set(nr ${CMAKE_MATCH_2})
set(kblock ${CMAKE_MATCH_3})
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
execute_process(COMMAND "${cross_cc}" -std=c11 -O2 -mcpu=cortex-a53 -Wall -Wextra -Werror
                        "-I${SOURCE_DIR}/runtime/include" "-I${WORK_DIR}" ${sources}
                        -o "${WORK_DIR}/standalone_gemm"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "aarch64-linux-gnu-gcc failed on the generated kernel")
endif()
execute_process(COMMAND "${qemu}" -L /usr/aarch64-linux-gnu "${WORK_DIR}/standalone_gemm"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${gemm} does not match the reference under qemu-aarch64 (status ${status})")
endif()
