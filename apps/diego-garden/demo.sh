#!/bin/sh
# The diego-garden demo (./run.sh garden). Needs root.
#
#   demo.sh DIEGO_GARDEN WORK_DIR
#
# Builds a busybox rootfs (Debian's busybox-static) in WORK_DIR, starts
# diego-garden on a unix socket, and drives it with curl through Garden's
# HTTP API: create a container with a 64 MiB memory limit and a pids limit,
# map a host port (NetIn), run busybox httpd in it, fetch its page from the
# host, destroy the container, and stop the server. Prints each step.
set -eu
garden=$1
work=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: diego-garden needs root (namespaces, cgroups, iptables)" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/www"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in sh httpd cat echo ls ps; do ln -s busybox "$work/rootfs/bin/$applet"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$work/rootfs/etc/passwd"
echo "root:x:0:" > "$work/rootfs/etc/group"
echo "hello from a diego-garden container" > "$work/rootfs/www/index.html"

sock="$work/garden.sock"
"$garden" --name=demo --listen_address="$sock" --depot_dir="$work/depot" \
  --image_dir="$work/images" --network_pool=10.247.0.0/24 \
  --default_rootfs="$work/rootfs" > "$work/garden.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
until [ -S "$sock" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "diego-garden did not start:" >&2; cat "$work/garden.log" >&2; exit 1; fi
  sleep 0.1
done
api() { curl -sS --unix-socket "$sock" "$@"; }

echo "== create (memory 64 MiB, pids 64)"
api -X POST http://garden/containers \
  -d '{"handle":"web","limits":{"memory_limits":{"limit_in_bytes":67108864},"pid_limits":{"max":64}}}'
echo "== net in: a host port to container port 8080"
mapping=$(api -X POST http://garden/containers/web/net/in -d '{"host_port":0,"container_port":8080}')
echo "$mapping"
port=$(echo "$mapping" | sed 's/.*"host_port":\([0-9]*\).*/\1/')
echo "== run httpd (Run hijacks the connection; curl leaves after 1 s, the process keeps running)"
curl -sS -m 1 --unix-socket "$sock" -X POST http://garden/containers/web/processes \
  -d '{"path":"httpd","args":["-f","-p","8080","-h","/www"]}' > /dev/null 2>&1 || true
echo "== info"
api http://garden/containers/web/info
echo "== GET http://127.0.0.1:$port/ from the host"
curl -sS -m 5 "http://127.0.0.1:$port/"
echo "== limits"
api http://garden/containers/web/limits/memory
echo "== destroy"
api -X DELETE http://garden/containers/web
echo "== left in the depot: $(ls "$work/depot" | wc -l) entries"
kill $pid
wait $pid 2>/dev/null || true
trap - EXIT
echo "== stopped. The host bridge demobr0 and its iptables chains stay for the next start, as guardian's do."
