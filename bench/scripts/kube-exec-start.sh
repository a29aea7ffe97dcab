#!/usr/bin/env bash
# Time from `doppel exec` to the program's first instruction with a fresh agent Job each run
# (docs/benchmarks.md, "Cluster start-up"): the program is /bin/date +%s%N, whose output is the
# moment it ran; the figure is that minus the moment doppel was started. Needs no root.
#   bench/scripts/kube-exec-start.sh TARGET NAMESPACE [RUNS] [-- extra doppel exec flags]
#   DOPPEL (default artifacts/doppel) and KUBECONFIG as for doppel itself.
set -euo pipefail
target=${1:?usage: kube-exec-start.sh TARGET NAMESPACE [RUNS] [-- doppel exec flags]}
ns=${2:?namespace}
runs=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
doppel=${DOPPEL:-$(cd "$(dirname "$0")/../.." && pwd)/artifacts/doppel}

figures=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  ran=$("$doppel" exec -t "$target" -n "$ns" "$@" -- /bin/date +%s%N 2>/dev/null | tail -n 1)
  figures+=($(( (ran - start) / 1000000 )))
  echo "run $i: $(( (ran - start) / 1000000 )) ms" >&2
done
sorted=($(printf '%s\n' "${figures[@]}" | sort -n))
echo "doppel exec -t $target → first instruction, fresh Job: median ${sorted[$(( runs / 2 ))]} ms (min ${sorted[0]}, max ${sorted[-1]}; $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
