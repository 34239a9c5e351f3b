#!/usr/bin/env bash
# Runs the main job: the BBS. Installs what is missing and builds first.
#
#   ./run.sh                 the demo: diego-bbs on a fresh SQLite file
#                            (build/run/bbs.db), driven through its protobuf
#                            API by diego-cfdot (desire, list, scale and remove
#                            an LRP; desire, cancel and delete a task), then
#                            stopped
#   ./run.sh serve [FLAGS]   diego-bbs in the foreground, e.g.
#                            ./run.sh serve --db=sqlite:///tmp/bbs.db
#                            (--help lists every flag)
#   ./run.sh check FILE...   diego-model-check: validate DesiredLRP / Task JSON
#   ./run.sh garden          the Garden demo (root): diego-garden on a unix
#                            socket, a busybox httpd container reached from the
#                            host through NetIn, then destroyed
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"
diego_install_packages
diego_build >&2
apps="${DIEGO_BUILD_DIR}/apps"
case "${1:-demo}" in
  serve)
    shift
    exec "${apps}/diego-bbs/diego-bbs" "$@"
    ;;
  check)
    shift
    exec "${apps}/diego-model-check/diego-model-check" "$@"
    ;;
  garden)
    exec sh "${DIEGO_ROOT}/apps/diego-garden/demo.sh" "${apps}/diego-garden/diego-garden" \
      "${DIEGO_BUILD_DIR}/run/garden"
    ;;
  demo)
    exec sh "${DIEGO_ROOT}/apps/diego-cfdot/e2e.sh" "${apps}/diego-bbs/diego-bbs" \
      "${apps}/diego-cfdot/diego-cfdot" "${DIEGO_ROOT}/examples" "${DIEGO_BUILD_DIR}/run"
    ;;
  *)
    echo "usage: ./run.sh [demo | serve [FLAGS] | check FILE... | garden]" >&2
    exit 2
    ;;
esac
