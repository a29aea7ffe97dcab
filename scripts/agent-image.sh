#!/usr/bin/env bash
# Builds the doppel-agent image offline (buildah, FROM scratch; no registry, no base image):
#   scripts/agent-image.sh [AGENT_BINARY [REFERENCE]]
#     AGENT_BINARY  default artifacts/doppel-agent (scripts/build.sh)
#     REFERENCE     default doppel.local/doppel-agent:VERSION (doppel's default agent.image); tests
#                   sharing one cluster give their own tag so that their imports do not collide
# Writes artifacts/doppel-agent.oci.tar and prints its reference as the last line. `ctr -n k8s.io images import artifacts/doppel-agent.oci.tar` on a node makes the
# reference available there; `agent.image` set to it is all a cluster needs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

agent=${1:-artifacts/doppel-agent}
[ -x "$agent" ] || { echo "doppel scripts: the agent binary $agent does not exist; run scripts/build.sh first." >&2; exit 1; }
version=$(sed -n 's|.*<Version>\(.*\)</Version>.*|\1|p' Directory.Build.props | head -n 1)
ref=${2:-"doppel.local/doppel-agent:${version:?no <Version> in Directory.Build.props}"}
out=artifacts/doppel-agent.oci.tar

context=$(mktemp -d "${TMPDIR:-/tmp}/doppel-agent-image.XXXXXX")
trap 'rm -rf "$context"' EXIT
rootfs=$context/rootfs
mkdir -p "$rootfs"
cp "$agent" "$rootfs/doppel-agent"
# /tmp as every image has it (sticky, world-writable): the agent's incoming front makes its private
# socket directory there (it falls back to /dev/shm, which the runtime mounts, when there is none).
mkdir -m 1777 "$rootfs/tmp"

# copy_library PATH: the file PATH points to, under its own name (the soname the loader asks for).
copy_library() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L "$1" "$rootfs$1"
}
# libraries_of BINARY: the absolute paths ldd resolves (the loader included).
libraries_of() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
libnftables=$(ldconfig -p | awk '$1 == "libnftables.so.1" && /x86-64/ { print $NF; exit }')
[ -n "$libnftables" ] || { echo "doppel scripts: libnftables.so.1 is missing; apt-get install libnftables1." >&2; exit 1; }
for library in $(libraries_of "$agent"; echo "$libnftables"; libraries_of "$libnftables"); do
  copy_library "$library"
done

scripts/oci-image.sh "$context" "$ref" "$out" deploy/agent.Containerfile >/dev/null
say "$out: $(du -k --apparent-size "$out" | cut -f1) KiB archive, $(du -sk --apparent-size "$rootfs" | cut -f1) KiB unpacked" >&2
echo "$ref"
