#!/usr/bin/env bash
# Steal through the Service vs direct, same run (docs/benchmarks.md, "Cluster steal"): a Deployment
# of busybox httpd (2 replicas) behind a Service; the same busybox httpd runs locally under
# `doppel exec -f seed-multi-developer.json` (steal, header X-Dev-User: $USER). wrk from this host
# to the Service's ClusterIP, interleaved rounds of:
#   direct        no doppel session: the pods' httpd answers
#   steal         with the session and its header: the agent's front hands each request to the session
#   pass-through  with the session, no header: the front passes each request to the pods' httpd
# Needs wrk, busybox, a cluster doppel can place agents in, and routes to its ClusterIPs (the test
# cluster of scripts/kube-cluster.sh has them).
#   bench/scripts/kube-steal-rps.sh NAMESPACE [SECONDS] [ROUNDS] [-- extra doppel exec flags]
#   DOPPEL (default artifacts/doppel), KUBECONFIG and DOPPEL_KUBECTL (default kubectl).
set -euo pipefail
ns=${1:?usage: kube-steal-rps.sh NAMESPACE [SECONDS] [ROUNDS] [-- doppel exec flags]}
seconds=${2:-5}
rounds=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
doppel=${DOPPEL:-$root/artifacts/doppel}
kubectl=${DOPPEL_KUBECTL:-kubectl}
work=$(mktemp -d "${TMPDIR:-/tmp}/kube-steal-rps.XXXXXX")
session=

cleanup() {
  if [ -n "$session" ] && kill -0 "$session" 2>/dev/null; then
    kill -TERM "$session" 2>/dev/null || true
    wait "$session" 2>/dev/null || true
  fi
  "$kubectl" -n "$ns" delete deployment/steal-bench service/steal-bench --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

"$kubectl" -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: steal-bench}
spec:
  replicas: 2
  selector: {matchLabels: {app: steal-bench}}
  template:
    metadata: {labels: {app: steal-bench}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: doppel.local/busybox:1.35
        imagePullPolicy: Never
        command: ["sh", "-c", "echo pod-page-of-32-bytes-xxxxxxxxxx > /var/www/index.html; exec httpd -f -p 8080 -h /var/www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: steal-bench}
spec:
  selector: {app: steal-bench}
  ports: [{port: 80, targetPort: 8080}]
YAML
"$kubectl" -n "$ns" rollout status deployment/steal-bench --timeout=120s >/dev/null
ip=$("$kubectl" -n "$ns" get service steal-bench -o jsonpath='{.spec.clusterIP}')

mkdir -p "$work/www"
echo local-page-of-32-bytes-xxxxxxxx > "$work/www/index.html"
USER=bench "$doppel" exec -f "$root/tests/Doppel.Config.Tests/Examples/seed-multi-developer.json" \
  -t deployment/steal-bench -n "$ns" "$@" -- busybox httpd -f -p 8080 -h "$work/www" >"$work/session.log" 2>&1 &
session=$!
until curl -s -m 2 -H 'X-Dev-User: bench' "http://$ip/" 2>/dev/null | grep -q local-page; do
  kill -0 "$session" 2>/dev/null || { echo "the doppel session ended:" >&2; cat "$work/session.log" >&2; exit 1; }
  sleep 0.5
done
# Both replicas subscribed ("also stealing from pod …"), not only the first.
until grep -q "also stealing from pod" "$work/session.log"; do sleep 0.5; done
sleep 1

# One wrk run: "rps p50_ms p99_ms".
run() {
  local out
  out=$(wrk -t1 -c8 -d"${seconds}s" --latency "$@" "http://$ip/")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rps $(ms "$p50") $(ms "$p99")"
}
# wrk's latency ("812.00us", "1.20ms", "2.01s") in ms.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[^m]s$/) n *= 1000; printf "%.2f", n }'; }

# Steal and pass-through rounds alternate while the session runs; then the session ends (the last
# one: its agents and their redirects go) and the direct rounds run against the same pods.
declare -a steal pass
for r in $(seq 1 "$rounds"); do
  steal+=("$(run -H 'X-Dev-User: bench')")
  pass+=("$(run)")
done
kill -TERM "$session"; wait "$session" 2>/dev/null || true; session=
sleep 3
declare -a direct
for r in $(seq 1 "$rounds"); do direct+=("$(run)"); done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
col() { local i=$1; shift; printf '%s\n' "$@" | awk -v i="$i" '{print $i}' | median; }
d_rps=$(col 1 "${direct[@]}"); s_rps=$(col 1 "${steal[@]}"); p_rps=$(col 1 "${pass[@]}")
printf '| path | rps | p50 ms | p99 ms | rps vs direct |\n|---|---:|---:|---:|---:|\n'
printf '| direct (no session; the pods answer) | %s | %s | %s | 1.00 |\n' "$d_rps" "$(col 2 "${direct[@]}")" "$(col 3 "${direct[@]}")"
printf '| steal (header; the local app answers) | %s | %s | %s | %.2f |\n' "$s_rps" "$(col 2 "${steal[@]}")" "$(col 3 "${steal[@]}")" "$(awk -v a="$s_rps" -v b="$d_rps" 'BEGIN{print a/b}')"
printf '| pass-through (no header; the pods answer through the front) | %s | %s | %s | %.2f |\n' "$p_rps" "$(col 2 "${pass[@]}")" "$(col 3 "${pass[@]}")" "$(awk -v a="$p_rps" -v b="$d_rps" 'BEGIN{print a/b}')"
echo "wrk -t1 -c8 -d${seconds}s to the Service's ClusterIP, median of $rounds runs each; load average $(cut -d' ' -f1-3 /proc/loadavg)"
