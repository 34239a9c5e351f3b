#!/usr/bin/env bash
# Runs the main job. For now that is diego-model-check: it reads Diego
# DesiredLRP / Task JSON documents (Diego's Go JSON keys) and reports every
# validation failure, as the BBS would. With no arguments it checks the
# examples in examples/. Installs what is missing and builds first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"
diego_install_packages
diego_build >&2
if (($# == 0)); then
  set -- "${DIEGO_ROOT}"/examples/*.json
fi
exec "${DIEGO_BUILD_DIR}/apps/diego-model-check/diego-model-check" "$@"
