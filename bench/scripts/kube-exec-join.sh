#!/usr/bin/env bash
# Time from `doppel exec` to the program's first instruction when the target pod's agent runs
# already (docs/benchmarks.md, "Cluster start-up"): one holder session stays on TARGET while
# kube-exec-start.sh times RUNS sessions, each of which joins the holder's agent instead of placing
# a Job. Compare with kube-exec-start.sh alone (a fresh Job each run). Needs no root.
#   bench/scripts/kube-exec-join.sh TARGET NAMESPACE [RUNS] [-- extra doppel exec flags]
#   DOPPEL (default artifacts/doppel) and KUBECONFIG as for doppel itself.
set -euo pipefail
target=${1:?usage: kube-exec-join.sh TARGET NAMESPACE [RUNS] [-- doppel exec flags]}
ns=${2:?namespace}
runs=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
doppel=${DOPPEL:-$here/../../artifacts/doppel}

# The holder: its program waits for a line on a FIFO, so it ends when this script closes it.
fifo=$(mktemp -u "${TMPDIR:-/tmp}/kube-exec-join.XXXXXX")
mkfifo "$fifo"
log=$(mktemp "${TMPDIR:-/tmp}/kube-exec-join-holder.XXXXXX")
"$doppel" exec -t "$target" -n "$ns" "$@" -- /bin/sh -c 'echo holder-ready; read line' <"$fifo" >"$log" 2>&1 &
holder=$!
exec 3>"$fifo"
cleanup() { exec 3>&-; wait "$holder" || true; rm -f "$fifo" "$log"; }
trap cleanup EXIT
until grep -q holder-ready "$log"; do
  kill -0 "$holder" 2>/dev/null || { echo "the holder session ended:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.2
done
echo "holder: $(grep 'agent ready' "$log")" >&2
DOPPEL=$doppel "$here/kube-exec-start.sh" "$target" "$ns" "$runs" -- "$@" | sed 's/fresh Job/joining a running agent/'
