# The one list of external dependencies. Included both when configuring
# libdiego itself and from the installed diegoConfig.cmake, so a consumer finds
# exactly what the libraries were built against (Seastar's pattern).
if(CMAKE_FIND_PACKAGE_NAME)  # running inside find_package(diego)
  include(CMakeFindDependencyMacro)
  macro(diego_find_dep)
    find_dependency(${ARGN})
  endmacro()
else()
  macro(diego_find_dep)
    find_package(${ARGN} REQUIRED)
  endmacro()
endif()

macro(diego_find_dependencies)
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  diego_find_dep(Threads)
  diego_find_dep(absl)
  diego_find_dep(fmt)
  diego_find_dep(nlohmann_json)
  # Protobuf 3.21 on Debian ships no CMake config; CMake's FindProtobuf module
  # provides protobuf::libprotobuf and protobuf::protoc.
  diego_find_dep(Protobuf)
  # cpp-httplib is a compiled library on Debian, found only through pkg-config.
  find_package(PkgConfig REQUIRED)
  if(NOT TARGET PkgConfig::httplib)
    pkg_check_modules(httplib REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
  endif()
  # The BBS store's engines and TLS: SQLite, libpq and OpenSSL via pkg-config
  # (Debian's libpq-dev has no server headers, which FindPostgreSQL wants).
  if(NOT TARGET PkgConfig::sqlite3)
    pkg_check_modules(sqlite3 REQUIRED IMPORTED_TARGET GLOBAL sqlite3)
  endif()
  if(NOT TARGET PkgConfig::libpq)
    pkg_check_modules(libpq REQUIRED IMPORTED_TARGET GLOBAL libpq)
  endif()
  if(NOT TARGET PkgConfig::openssl)
    pkg_check_modules(openssl REQUIRED IMPORTED_TARGET GLOBAL openssl)
  endif()
  # Locket speaks gRPC (wire-compatible with Diego's Locket); Debian's
  # libgrpc++-dev has only pkg-config files.
  if(NOT TARGET PkgConfig::grpcpp)
    pkg_check_modules(grpcpp REQUIRED IMPORTED_TARGET GLOBAL grpc++)
  endif()
  # The Linux Garden backend: cgroups (libcgroup), tar streams (libarchive)
  # and the containers' seccomp filter (libseccomp); pkg-config only.
  if(NOT TARGET PkgConfig::libcgroup)
    pkg_check_modules(libcgroup REQUIRED IMPORTED_TARGET GLOBAL libcgroup)
  endif()
  if(NOT TARGET PkgConfig::libarchive)
    pkg_check_modules(libarchive REQUIRED IMPORTED_TARGET GLOBAL libarchive)
  endif()
  if(NOT TARGET PkgConfig::libseccomp)
    pkg_check_modules(libseccomp REQUIRED IMPORTED_TARGET GLOBAL libseccomp)
  endif()
endmacro()
