#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages), configures,
# builds (Ninja, ccache) and runs ctest, which includes the find_package(diego)
# consumer check against an installed tree. Exits non-zero if any test fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"
diego_install_packages
diego_build -DDIEGO_BUILD_TESTS=ON
cd "${DIEGO_BUILD_DIR}"
exec ctest --output-on-failure -j "${DIEGO_JOBS}" --timeout 600 "$@"
