# Generation of the target's kernels in the build tree.
#
# lowbit-gen is a host tool: it is built at configure time (with the host compiler, also in cross
# builds) because CMake must know the generated file names before it writes the build files. A
# build-time step rebuilds it when its sources change.

set(LOWBIT_GEN_EXECUTABLE "" CACHE FILEPATH "A lowbit-gen to use instead of building one")

if(LOWBIT_GEN_EXECUTABLE)
  set(LOWBIT_GEN "${LOWBIT_GEN_EXECUTABLE}")
  set(lowbit_gen_depends "${LOWBIT_GEN}")
else()
  set(host_gen_dir "${CMAKE_BINARY_DIR}/host-gen")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${LOWBIT_SOURCE_DIR}/generator" -B "${host_gen_dir}"
            -G "${CMAKE_GENERATOR}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=cc
            -DLOWBIT_WERROR=${LOWBIT_WERROR}
    RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "lowbit: configuring the host generator failed (${host_gen_dir})")
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${host_gen_dir}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "lowbit: building the host generator failed (${host_gen_dir})")
  endif()
  set(LOWBIT_GEN "${host_gen_dir}/lowbit-gen")
  set(LOWBIT_GEN_BUILD_DIR "${host_gen_dir}")  # its install rules join this build's (LowbitInstall)
  file(GLOB_RECURSE gen_sources CONFIGURE_DEPENDS "${LOWBIT_SOURCE_DIR}/generator/*.c"
       "${LOWBIT_SOURCE_DIR}/generator/*.h" "${LOWBIT_SOURCE_DIR}/generator/CMakeLists.txt")
  add_custom_command(
    OUTPUT "${CMAKE_BINARY_DIR}/host-gen.stamp"
    COMMAND "${CMAKE_COMMAND}" --build "${host_gen_dir}"
    COMMAND "${CMAKE_COMMAND}" -E touch "${CMAKE_BINARY_DIR}/host-gen.stamp"
    DEPENDS ${gen_sources}
    COMMENT "lowbit-gen: rebuilding the host generator")
  set(lowbit_gen_depends "${CMAKE_BINARY_DIR}/host-gen.stamp")
endif()

set(LOWBIT_SPEC "${LOWBIT_SOURCE_DIR}/kernels.spec")
set(LOWBIT_GENERATED_DIR "${CMAKE_BINARY_DIR}/gen/${LOWBIT_TARGET}")
file(GLOB_RECURSE lowbit_templates CONFIGURE_DEPENDS "${LOWBIT_SOURCE_DIR}/templates/*.in")
set(lowbit_target_file "${LOWBIT_SOURCE_DIR}/targets/${LOWBIT_TARGET}.target")
# The per-CPU data that lowbit-gen turns into lb_tuning.c (docs/design.md, "Per-CPU data").
set(lowbit_tuning_files "${LOWBIT_SOURCE_DIR}/targets/${LOWBIT_TARGET}.tuning"
    "${LOWBIT_SOURCE_DIR}/targets/${LOWBIT_TARGET}.crossover")
# The schedule databases lowbit-gen reads (--schedule, docs/design.md section 32): auto, every
# targets/<target>.<cpu>.schedules; none; or one file. Their entries add kernels, so CMake
# reconfigures when they change.
set(LOWBIT_SCHEDULES "auto" CACHE STRING "lowbit-gen --schedule: auto, none or a database file")
if(LOWBIT_SCHEDULES STREQUAL "auto")
  file(GLOB lowbit_schedule_files CONFIGURE_DEPENDS
       "${LOWBIT_SOURCE_DIR}/targets/${LOWBIT_TARGET}.*.schedules")
elseif(LOWBIT_SCHEDULES STREQUAL "none")
  set(lowbit_schedule_files "")
else()
  set(lowbit_schedule_files "${LOWBIT_SCHEDULES}")
endif()
list(APPEND lowbit_tuning_files ${lowbit_schedule_files})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${LOWBIT_SPEC}" "${lowbit_target_file}"
             ${lowbit_tuning_files})

execute_process(
  COMMAND "${LOWBIT_GEN}" --spec "${LOWBIT_SPEC}" --target "${LOWBIT_TARGET}"
          --schedule "${LOWBIT_SCHEDULES}" --list-outputs
  OUTPUT_VARIABLE listing ERROR_VARIABLE listing_error RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lowbit: lowbit-gen --list-outputs failed: ${listing_error}")
endif()

string(REPLACE "\n" ";" listing "${listing}")
set(LOWBIT_GENERATED_SOURCES "")
foreach(line IN LISTS listing)
  if(line STREQUAL "")
    continue()
  endif()
  string(REPLACE "\t" ";" fields "${line}")
  list(GET fields 0 file)
  list(GET fields 1 isa)
  set(source "${LOWBIT_GENERATED_DIR}/${file}")
  list(APPEND LOWBIT_GENERATED_SOURCES "${source}")
  if(DEFINED LOWBIT_T_cflags.${isa})
    set_source_files_properties("${source}" PROPERTIES COMPILE_OPTIONS "${LOWBIT_T_cflags.${isa}}")
  endif()
endforeach()

set(mcpu_args "")
if(LOWBIT_MCPU)
  set(mcpu_args --mcpu "${LOWBIT_MCPU}")
endif()
add_custom_command(
  OUTPUT "${LOWBIT_GENERATED_DIR}/generated.stamp"
  BYPRODUCTS ${LOWBIT_GENERATED_SOURCES}
  COMMAND "${LOWBIT_GEN}" --spec "${LOWBIT_SPEC}" --target "${LOWBIT_TARGET}" ${mcpu_args}
          --schedule "${LOWBIT_SCHEDULES}" -o "${LOWBIT_GENERATED_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E touch "${LOWBIT_GENERATED_DIR}/generated.stamp"
  DEPENDS ${lowbit_gen_depends} "${LOWBIT_SPEC}" "${lowbit_target_file}" ${lowbit_tuning_files}
          ${lowbit_templates}
  COMMENT "lowbit-gen: kernels for ${LOWBIT_TARGET}"
  VERBATIM)
add_custom_target(lowbit-kernels DEPENDS "${LOWBIT_GENERATED_DIR}/generated.stamp")
