#!/usr/bin/env bash
# The one-command demo: builds doppel, starts a local mini-cluster (network namespaces: a "bff"
# pod with DATABASE_URL and /app/config.json, a "backend" HTTP service, cluster DNS, and a
# "developer" namespace with no route to the pods), then runs examples/demo/app.py twice from
# the developer namespace: plainly, and under `doppel exec -t pid/<bff>`. Then two developers,
# alice and bob (a loopback-only namespace each, standing for their laptops), each run
# examples/multi-developer/app.py under doppel with the multi-developer config (steal port 80 of
# pod "backend" with the filter ^X-Dev-User: $USER$); a client in pod "bff" shows that alice's
# request reaches alice's app, bob's reaches bob's and an unmarked one the pod's own server.
# Tears everything down on exit, failure or Ctrl-C. Needs root (network namespaces, runc).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# The mini-cluster's tools (tests/Doppel.Testing/README.md).
CLUSTER_PACKAGES=(iproute2 util-linux python3 dnsmasq-base runc busybox-static hostname libc-bin)
ensure_packages "${BUILD_PACKAGES[@]}" "${CLUSTER_PACKAGES[@]}"
# DOPPEL_DEMO_SKIP_BUILD=1: use what scripts/build.sh built before (artifacts/, the cluster tool).
[ "${DOPPEL_DEMO_SKIP_BUILD:-}" = 1 ] || "$ROOT/scripts/build.sh"

tool="$ROOT/tests/Doppel.DemoCluster/bin/Release/net10.0/Doppel.DemoCluster"
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
[ -x "$tool" ] || { echo "demo: $tool is missing; scripts/build.sh should have built it." >&2; exit 1; }

work="$(mktemp -d /tmp/doppel-demo-XXXXXX)"
cluster_pid=""
session_pids=()   # the developers' `doppel exec` processes
session_netns=()  # the developers' namespaces
agent_pid=""      # the doppel-agent both developers' sessions join
# stop_sessions: SIGTERM to each developer's doppel (it forwards it to the app and ends its
# session), SIGKILL to one still running 15 s later; then their namespaces go.
stop_sessions() {
  local pid i
  for pid in "${session_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${session_pids[@]}"; do
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  session_pids=()
  if [ -n "$agent_pid" ]; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=""
  fi
  for ns in "${session_netns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  session_netns=()
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_sessions
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
backend_pid="$(value backend-pid)"
backend_ip="$(value backend-ip)"
bff_netns="$(value bff-netns)"
dev="$(value developer-netns)"
say "mini-cluster up: pod bff = pid $bff_pid (container $(value bff-container | cut -c1-12)), backend = $(value backend-ip), developer netns = $dev"

echo
say "1/3  the app on the developer's machine, without doppel:"
say "     ip netns exec $dev $python examples/demo/app.py"
ip netns exec "$dev" "$python" examples/demo/app.py | sed 's/^/     | /'

echo
say "2/3  the same app under doppel, as if inside pod bff:"
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

# Highlighting for a terminal; plain lines otherwise.
if [ -t 1 ]; then hi=$'\e[1m'; ok=$'\e[32m'; bad=$'\e[31m'; off=$'\e[0m'; else hi=""; ok=""; bad=""; off=""; fi

echo
say "3/3  two developers, one pod: alice and bob steal from pod backend (pid $backend_pid, $backend_ip:80),"
say "     each with examples/multi-developer/doppel.json (header_filter ^X-Dev-User: {{ USER }}\$)"
# One agent per target serves every session, as in a cluster: the demo starts it, and both
# sessions join it through DOPPEL_AGENT_SOCKET (two agents would each put a redirect for port 80
# in the pod, and the first one's would take every request).
say "     one agent for pod backend: artifacts/doppel-agent --target pid/$backend_pid --listen unix:$work/agent.sock"
artifacts/doppel-agent --target "pid/$backend_pid" --listen "unix:$work/agent.sock" >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
for _ in $(seq 1 300); do
  grep -q "^listening on unix:" "$work/agent.out" && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$work/agent.err" >&2; echo "demo: doppel-agent did not start (its output is above)." >&2; exit 1; }
  sleep 0.1
done
grep -q "^listening on unix:" "$work/agent.out" || { cat "$work/agent.err" >&2; echo "demo: doppel-agent did not listen within 30 s." >&2; exit 1; }
for user in alice bob; do
  ns="$dev-$user"
  ip netns add "$ns"
  session_netns+=("$ns")
  ip -n "$ns" link set lo up
  say "     $user's laptop: USER=$user DOPPEL_AGENT_SOCKET=$work/agent.sock ip netns exec $ns \\"
  say "         artifacts/doppel exec -v -t pid/$backend_pid \\"
  say "         -f examples/multi-developer/doppel.json -- $python examples/multi-developer/app.py $user"
  USER="$user" DOPPEL_AGENT_SOCKET="$work/agent.sock" ip netns exec "$ns" artifacts/doppel exec -v -t "pid/$backend_pid" -f examples/multi-developer/doppel.json \
    -- "$python" examples/multi-developer/app.py "$user" >"$work/$user.out" 2>"$work/$user.err" &
  session_pids+=($!)
done

# Each session prints one progress line per subscribed port (`steal :80 → ...`) once the agent has it.
for i in 0 1; do
  user=$([ "$i" -eq 0 ] && echo alice || echo bob)
  for _ in $(seq 1 600); do
    grep -q "^steal :80" "$work/$user.err" && break
    if ! kill -0 "${session_pids[$i]}" 2>/dev/null; then
      cat "$work/$user.err" >&2
      echo "demo: $user's doppel session ended before it stole port 80 (its output is above)." >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "^steal :80" "$work/$user.err" || { cat "$work/$user.err" >&2; echo "demo: $user's session did not subscribe port 80 within 60 s." >&2; exit 1; }
  grep "^steal :80" "$work/$user.err" | sed "s/^/     $user | /"
done

# The client: curl in pod bff, three requests to the backend pod on one keep-alive connection.
say "     from pod bff, on one keep-alive connection: curl http://$backend_ip/ three times"
# --next starts the next request's own options; curl keeps the connection (num_connects 0).
each=(-sS -m 10 -w '%{num_connects}\n')
answers="$(ip netns exec "$bff_netns" curl "${each[@]}" -H "X-Dev-User: alice" "http://$backend_ip/" \
  --next "${each[@]}" -H "X-Dev-User: bob" "http://$backend_ip/" \
  --next "${each[@]}" "http://$backend_ip/")" || { echo "demo: curl from pod bff failed." >&2; exit 1; }
mapfile -t lines <<<"$answers"
labels=("X-Dev-User: alice" "X-Dev-User: bob" "no X-Dev-User")
expected=("hello from alice's laptop" "hello from bob's laptop" "hello from backend")
connects=0
for i in 0 1 2; do
  answer="${lines[$((2 * i))]:-}"
  opened="${lines[$((2 * i + 1))]:-0}"
  [[ "$opened" =~ ^[0-9]+$ ]] && connects=$((connects + opened))
  if [[ "$answer" == "${expected[$i]}"* ]]; then
    printf '     %-18s -> %s%s%s\n' "${labels[$i]}" "$ok$hi" "$answer" "$off"
  else
    printf '     %-18s -> %s%s%s (expected "%s…")\n' "${labels[$i]}" "$bad$hi" "$answer" "$off" "${expected[$i]}"
    status=1
  fi
done
say "     (curl opened $connects TCP connection(s) for the three requests; the agent routes each request on its own)"

stop_sessions
for user in alice bob; do
  grep "^incoming:" "$work/$user.err" | sed "s/^/     $user | /" || true
done
echo
if [ "$status" -eq 0 ]; then
  say "alice and bob each got their own request; the unmarked one stayed with the pod."
else
  say "demo failed (status $status)"
fi
exit "$status"
