# Helpers shared by every libdiego library (modelled on Abseil's absl_cc_library).

set(DIEGO_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

# diego_cc_library(NAME model HDRS ... SRCS ... DEPS ... [PRIVATE_DEPS ...] [TESTONLY])
# Creates the static library diego_<name>, alias diego::<name>, exported as
# diego::<name> in the diegoTargets (or, with TESTONLY, diegoTestingTargets)
# export set.
function(diego_cc_library)
  cmake_parse_arguments(ARG "TESTONLY" "NAME" "HDRS;SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(_t "diego_${ARG_NAME}")
  set(_export diegoTargets)
  if(ARG_TESTONLY)
    set(_export diegoTestingTargets)
  endif()
  add_library(${_t} STATIC ${ARG_SRCS} ${ARG_HDRS})
  add_library(diego::${ARG_NAME} ALIAS ${_t})
  set_target_properties(${_t} PROPERTIES EXPORT_NAME ${ARG_NAME} OUTPUT_NAME ${_t})
  target_include_directories(${_t}
    PUBLIC
      "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>"
      "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>"
    PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
  target_link_libraries(${_t} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_compile_features(${_t} PUBLIC cxx_std_20)
  target_compile_options(${_t} PRIVATE ${DIEGO_WARNINGS})
  if(DIEGO_INSTALL)
    install(TARGETS ${_t} EXPORT ${_export}
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/include/" TYPE INCLUDE)
  endif()
endfunction()

# diego_cc_test(NAME model_validation_test SRCS tests/validation_test.cc DEPS ...
#               [LABELS ...] [SINGLE_PROCESS] [TIMEOUT seconds])
# A GoogleTest binary whose cases ctest discovers one by one. The library's
# src/ is on the include path so tests can reach private headers. With
# SINGLE_PROCESS the whole binary is one ctest case (one process), for suites
# that share an expensive fixture such as a throwaway PostgreSQL server.
function(diego_cc_test)
  if(NOT DIEGO_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "SINGLE_PROCESS" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${ARG_NAME} PRIVATE ${DIEGO_WARNINGS})
  target_compile_definitions(${ARG_NAME} PRIVATE
    DIEGO_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(ARG_SINGLE_PROCESS)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
    if(NOT ARG_TIMEOUT)
      set(ARG_TIMEOUT 900)
    endif()
    set_tests_properties(${ARG_NAME} PROPERTIES
      LABELS "${ARG_NAME};${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  else()
    gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS "${ARG_NAME};${ARG_LABELS}")
  endif()
endfunction()

# diego_proto_sources(OUT var ROOT dir PROTOS a.proto b.proto ...)
# Runs protoc on PROTOS (paths relative to the current source dir, under ROOT)
# and writes <gen>/diego/.../x.pb.{h,cc} so `#include "diego/model/v1/x.pb.h"`
# works. CMake 3.25's protobuf_generate() would place outputs relative to the
# source dir instead of the import root.
function(diego_proto_sources)
  cmake_parse_arguments(ARG "" "OUT;ROOT" "PROTOS" ${ARGN})
  set(_gen "${CMAKE_CURRENT_BINARY_DIR}/gen")
  file(MAKE_DIRECTORY "${_gen}")
  set(_outs)
  foreach(_p ${ARG_PROTOS})
    get_filename_component(_abs "${_p}" ABSOLUTE)
    file(RELATIVE_PATH _rel "${ARG_ROOT}" "${_abs}")
    string(REGEX REPLACE "\\.proto$" "" _stem "${_rel}")
    set(_cc "${_gen}/${_stem}.pb.cc")
    set(_h "${_gen}/${_stem}.pb.h")
    add_custom_command(
      OUTPUT "${_cc}" "${_h}"
      COMMAND protobuf::protoc --cpp_out "${_gen}" -I "${ARG_ROOT}" -I "${Protobuf_INCLUDE_DIR}" "${_abs}"
      DEPENDS "${_abs}" protobuf::protoc
      COMMENT "protoc ${_rel}"
      VERBATIM)
    list(APPEND _outs "${_cc}" "${_h}")
  endforeach()
  set(${ARG_OUT} ${_outs} PARENT_SCOPE)
endfunction()

# diego_grpc_sources(OUT var ROOT dir IMPORT_ROOTS dirs... PROTOS a.proto ...)
# Like diego_proto_sources, for protos that declare gRPC services: writes
# <gen>/<stem>.pb.{h,cc} and <gen>/<stem>.grpc.pb.{h,cc} with protoc's
# grpc_cpp_plugin (Debian's protobuf-compiler-grpc). IMPORT_ROOTS are extra
# -I roots for imported .proto files (their .pb.cc must come from elsewhere).
function(diego_grpc_sources)
  cmake_parse_arguments(ARG "" "OUT;ROOT" "PROTOS;IMPORT_ROOTS" ${ARGN})
  find_program(DIEGO_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
  set(_gen "${CMAKE_CURRENT_BINARY_DIR}/gen")
  file(MAKE_DIRECTORY "${_gen}")
  set(_includes -I "${ARG_ROOT}")
  foreach(_r ${ARG_IMPORT_ROOTS})
    list(APPEND _includes -I "${_r}")
  endforeach()
  set(_outs)
  foreach(_p ${ARG_PROTOS})
    get_filename_component(_abs "${_p}" ABSOLUTE)
    file(RELATIVE_PATH _rel "${ARG_ROOT}" "${_abs}")
    string(REGEX REPLACE "\\.proto$" "" _stem "${_rel}")
    set(_files "${_gen}/${_stem}.pb.cc" "${_gen}/${_stem}.pb.h"
               "${_gen}/${_stem}.grpc.pb.cc" "${_gen}/${_stem}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${_files}
      COMMAND protobuf::protoc --cpp_out "${_gen}" --grpc_out "${_gen}"
              "--plugin=protoc-gen-grpc=${DIEGO_GRPC_CPP_PLUGIN}"
              ${_includes} -I "${Protobuf_INCLUDE_DIR}" "${_abs}"
      DEPENDS "${_abs}" protobuf::protoc
      COMMENT "protoc (grpc) ${_rel}"
      VERBATIM)
    list(APPEND _outs ${_files})
  endforeach()
  set(${ARG_OUT} ${_outs} PARENT_SCOPE)
endfunction()
