#!/bin/sh
# End to end: diego-bbs on a fresh SQLite file, driven by diego-cfdot through
# the protobuf API: desire, list, get, update, remove an LRP; desire, list,
# cancel, resolve+delete a task. Usage: e2e.sh DIEGO_BBS DIEGO_CFDOT EXAMPLES_DIR WORK_DIR
set -u
bbs="$1"; cfdot="$2"; examples="$3"; dir="$4"
rm -rf "$dir"; mkdir -p "$dir"
"$bbs" --db="sqlite://$dir/bbs.db" --listen_address=127.0.0.1:0 --health_address=127.0.0.1:0 --locket_listen_address= \
    --auctioneer_address=http://127.0.0.1:1 2> "$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
i=0
while ! grep -q '"bbs.server.started"' "$dir/log"; do
  i=$((i+1)); if [ $i -gt 300 ]; then echo "never started"; cat "$dir/log"; exit 1; fi
  sleep 0.1
done
port=$(sed -n 's/.*"bbs.server.started".*"port":\([0-9]*\).*/\1/p' "$dir/log" | head -1)
cf() { "$cfdot" --bbs_url="http://127.0.0.1:$port" "$@"; }
step() { echo "== $*"; }
set -e
step create-desired-lrp; cf create-desired-lrp "@$examples/desired_lrp_small.json"
step create-desired-lrp again; if cf create-desired-lrp "@$examples/desired_lrp_small.json"; then exit 1; fi
step desired-lrps; cf desired-lrps --domain=cf-apps
step actual-lrps; cf actual-lrps --process_guid=web-app-1
step update-desired-lrp; cf update-desired-lrp web-app-1 '{"instances":3}'
step desired-lrp; cf desired-lrp web-app-1
step actual-lrps after scale; cf actual-lrps --process_guid=web-app-1 | wc -l
step delete-desired-lrp; cf delete-desired-lrp web-app-1
step desired-lrp after delete; if cf desired-lrp web-app-1; then exit 1; fi
step create-task; cf create-task "@$examples/task_small.json"
step tasks; cf tasks --domain=cf-tasks
step cancel-task; cf cancel-task task-1
step task; cf task task-1
step delete-task; cf delete-task task-1
step tasks after delete; cf tasks | wc -l
step done
