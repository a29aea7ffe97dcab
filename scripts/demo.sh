#!/usr/bin/env bash
# The one-command demo: builds doppel, starts a local mini-cluster (network namespaces: a "bff"
# pod with DATABASE_URL and /app/config.json, a "backend" HTTP service, cluster DNS, and a
# "developer" namespace with no route to the pods), then runs examples/demo/app.py twice from
# the developer namespace: plainly, and under `doppel exec -t pid/<bff>`. Tears everything down
# on exit, failure or Ctrl-C. Needs root (network namespaces, runc).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# The mini-cluster's tools (tests/Doppel.Testing/README.md).
CLUSTER_PACKAGES=(iproute2 util-linux python3 dnsmasq-base runc busybox-static hostname libc-bin)
ensure_packages "${BUILD_PACKAGES[@]}" "${CLUSTER_PACKAGES[@]}"
"$ROOT/scripts/build.sh"

tool="$ROOT/tests/Doppel.DemoCluster/bin/Release/net10.0/Doppel.DemoCluster"
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
[ -x "$tool" ] || { echo "demo: $tool is missing; scripts/build.sh should have built it." >&2; exit 1; }

work="$(mktemp -d /tmp/doppel-demo-XXXXXX)"
cluster_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    say "tearing the mini-cluster down"
    exec 3>&- || true                      # its stdin closes: it tears down
    kill -TERM "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    tail -n 1 "$work/cluster.log" || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting the mini-cluster"
# The cluster lives as long as our end of this fifo stays open (and until SIGTERM).
mkfifo "$work/stdin"
"$tool" <"$work/stdin" >"$work/info" 2>"$work/cluster.log" &
cluster_pid=$!
exec 3>"$work/stdin"

for _ in $(seq 1 1200); do
  grep -qx ready "$work/info" 2>/dev/null && break
  if ! kill -0 "$cluster_pid" 2>/dev/null; then
    cat "$work/cluster.log" >&2
    echo "demo: the mini-cluster did not start (its log is above)." >&2
    exit 1
  fi
  sleep 0.1
done
grep -qx ready "$work/info" || { cat "$work/cluster.log" >&2; echo "demo: the mini-cluster was not ready within 120 s." >&2; exit 1; }
value() { sed -n "s/^$1=//p" "$work/info"; }
bff_pid="$(value bff-pid)"
dev="$(value developer-netns)"
say "mini-cluster up: pod bff = pid $bff_pid (container $(value bff-container | cut -c1-12)), backend = $(value backend-ip), developer netns = $dev"

echo
say "1/2  the app on the developer's machine, without doppel:"
say "     ip netns exec $dev $python examples/demo/app.py"
ip netns exec "$dev" "$python" examples/demo/app.py | sed 's/^/     | /'

echo
say "2/2  the same app under doppel, as if inside pod bff:"
say "     ip netns exec $dev artifacts/doppel exec -t pid/$bff_pid -- $python examples/demo/app.py"
set +e
ip netns exec "$dev" artifacts/doppel exec -t "pid/$bff_pid" -- "$python" examples/demo/app.py > "$work/app.out"
status=$?
set -e
sed 's/^/     | /' "$work/app.out"
echo
if [ "$status" -eq 0 ]; then
  say "doppel exec exited 0: the app saw the pod's env, its file and the cluster's service."
else
  say "doppel exec exited $status"
fi
exit "$status"
