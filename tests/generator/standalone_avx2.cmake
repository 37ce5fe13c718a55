# Generates one GEMM kernel and its pack kernels for x86-avx2 with lowbit-gen, compiles them with
# the host compiler and the target's AVX2 flags together with standalone_gemm.c, and runs the
# result here. Skips, saying so, when this CPU lacks AVX2. Kernel names are the ones lowbit-gen
# prints; the K block is read from the kernel's name.
# Inputs: LOWBIT_GEN, SOURCE_DIR, WORK_DIR, CC (the host C compiler), STRATEGY, TILE, GEN_A, GEN_W,
# FORMAT (direct), and DATA_A, DATA_W: the operands of the test data (<bits><u|s|b>).
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

if(STRATEGY STREQUAL "direct")
  if(FORMAT STREQUAL "u8s8")
    set(a_code u8)
    set(w_code s8)
  else()
    set(a_code ${FORMAT})
    set(w_code ${FORMAT})
  endif()
else()
  set(a_code bitplanes)
  set(w_code bitplanes)
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
set(gen "${LOWBIT_GEN}" --target x86-avx2 --isa avx2 -o "${WORK_DIR}")
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
execute_process(COMMAND "${CC}" -std=c11 -O2 ${cflags} -Wall -Wextra -Werror
                        "-I${SOURCE_DIR}/runtime/include" "-I${WORK_DIR}" ${sources}
                        -o "${WORK_DIR}/standalone_gemm"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${CC} failed on the generated kernel")
endif()
execute_process(COMMAND "${WORK_DIR}/standalone_gemm" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${gemm} does not match the reference (status ${status})")
endif()
