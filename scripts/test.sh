#!/usr/bin/env bash
# Installs what the tests need, builds (including the NativeAOT binary) and runs every test.
# Exits non-zero on any failure. Ends with one line: "N passed, N failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${KUBE_PACKAGES[@]}"
"$ROOT/scripts/build.sh"

# The binary tests run against the JIT build and this NativeAOT build alike; the agent tests
# (and any test that starts an agent) use the NativeAOT doppel-agent when this is set.
export DOPPEL_AOT_BINARY="$ROOT/artifacts/doppel"
export DOPPEL_AGENT_BINARY="$ROOT/artifacts/doppel-agent"

log="$(mktemp)"
# One real Kubernetes cluster for the whole run (tests/Doppel.Kubernetes.Tests join it through
# DOPPEL_TEST_KUBE_DIR); it is torn down however the run ends. DOPPEL_KUBE_BIN names its binaries.
kube_dir="$(mktemp -d /tmp/dkube-run.XXXXXX)"
trap 'rm -f "$log"; "$ROOT/scripts/kube-cluster.sh" down "$kube_dir" || echo "doppel tests: the test cluster in $kube_dir could not be torn down." >&2' EXIT
trap 'exit 130' INT TERM HUP
say "starting the test Kubernetes cluster"
"$ROOT/scripts/kube-cluster.sh" up "$kube_dir" >/dev/null
export DOPPEL_TEST_KUBE_DIR="$kube_dir"
say "running tests"
set +e
# Signals ignored by whoever started us (nohup, a background job) would be inherited by every
# program the tests start; the signal tests need them at their defaults.
env --default-signal=HUP,INT,QUIT dotnet test doppel.slnx -c Release --no-build --nologo \
  --blame-hang-timeout 10m --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Sum the per-assembly summaries ("Total tests: N" then "Passed: N", "Failed: N", "Skipped: N").
read -r passed failed skipped assemblies < <(awk '
  /^Total tests: / { a++ }
  /^ +Passed: [0-9]+$/ { p += $2 }
  /^ +Failed: [0-9]+$/ { f += $2 }
  /^ +Skipped: [0-9]+$/ { s += $2 }
  END { printf "%d %d %d %d\n", p, f, s, a }' "$log")
if [ "$skipped" -gt 0 ]; then
  echo "doppel tests: $skipped test(s) were skipped; a skipped test is a defect here." >&2
  status=1
fi
if [ "$assemblies" -eq 0 ] || [ "$passed" -eq 0 ]; then
  echo "doppel tests: no test ran." >&2
  status=1
fi
if [ "$failed" -gt 0 ]; then
  # Repeat each failed test with the start of its error message, so the end of the log names them.
  echo "failed tests:"
  awk '
    /^  Failed / { name = $0; sub(/^  Failed /, "", name); print "  " name; want = 1; n = 0; next }
    want && /^  Error Message:/ { next }
    want && /^  Stack Trace:/ { want = 0; next }
    want && n < 6 { print "      " $0; n++ }' "$log"
fi
echo "$passed passed, $failed failed"
exit "$status"
