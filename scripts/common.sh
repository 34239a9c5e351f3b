#!/usr/bin/env bash
# Shared by ./run.sh and ./test.sh: install the Debian packages the build
# needs (idempotent: apt-get runs only when something is missing), then
# configure and build with Ninja and ccache.
set -euo pipefail

DIEGO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIEGO_BUILD_DIR="${DIEGO_BUILD_DIR:-${DIEGO_ROOT}/build}"
DIEGO_JOBS="${DIEGO_JOBS:-$(nproc)}"

DIEGO_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler libfmt-dev nlohmann-json3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libpq-dev postgresql libssl-dev
  libgrpc++-dev protobuf-compiler-grpc
  libcgroup-dev libarchive-dev libseccomp-dev busybox-static iptables iproute2 crun runc curl
)

diego_install_packages() {
  local missing=()
  for p in "${DIEGO_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "installing: ${missing[*]}" >&2
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

diego_build() {
  # -g1 (line tables only) instead of -g: backtraces and perf still get
  # file:line, and a clean build takes about a third less time.
  cmake -S "${DIEGO_ROOT}" -B "${DIEGO_BUILD_DIR}" -G Ninja \
    -DCMAKE_BUILD_TYPE="${DIEGO_BUILD_TYPE:-RelWithDebInfo}" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${DIEGO_CXX_FLAGS_RELWITHDEBINFO:--O2 -g1 -DNDEBUG}" "$@"
  cmake --build "${DIEGO_BUILD_DIR}" -j "${DIEGO_JOBS}"
}
