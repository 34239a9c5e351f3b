#!/usr/bin/env bash
# Runs the main job. For now that is diego-model-check: it reads Diego
# DesiredLRP / Task JSON documents (Diego's Go JSON keys) and reports every
# validation failure, as the BBS would. With no arguments it checks the
# examples in examples/. Installs what is missing and builds first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"
diego_install_packages
diego_build >&2
check="${DIEGO_BUILD_DIR}/apps/diego-model-check/diego-model-check"
if (($# > 0)); then
  exec "${check}" "$@"
fi
# The demo: one valid DesiredLRP and one Task that is invalid on purpose.
# Exit status 1 ("a record is invalid") is the expected outcome here; only
# 2 (unreadable input, bad flags) fails the demo.
echo "diego-model-check on examples/ (task_invalid.json is invalid on purpose):" >&2
status=0
"${check}" "${DIEGO_ROOT}/examples/desired_lrp.json" "${DIEGO_ROOT}/examples/task_invalid.json" ||
  status=$?
if ((status > 1)); then
  exit "${status}"
fi
