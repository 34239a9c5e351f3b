# ctest case `install_consumer`: installs this build into a scratch prefix and
# builds and runs cmake/install_test against it through find_package(diego).
# Invoked as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P RunInstallTest.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
set(_prefix "${WORK_DIR}/prefix")
function(_run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "install test step failed (${_rc}): ${ARGN}")
  endif()
endfunction()
_run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${_prefix}")
foreach(_f diegoConfig.cmake diegoConfigVersion.cmake diegoTargets.cmake diegoTestingTargets.cmake)
  if(NOT EXISTS "${_prefix}/lib/cmake/diego/${_f}")
    message(FATAL_ERROR "installed tree lacks lib/cmake/diego/${_f}")
  endif()
endforeach()
_run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/cmake/install_test" -B "${WORK_DIR}/build" -G Ninja
     "-DCMAKE_PREFIX_PATH=${_prefix}" -DCMAKE_BUILD_TYPE=Release)
_run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
_run("${WORK_DIR}/build/consumer")
