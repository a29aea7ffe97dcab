#!/usr/bin/env bash
# Builds an image from a Containerfile that starts FROM scratch into an OCI archive, offline:
#   scripts/oci-image.sh CONTEXT REF OUT.tar [CONTAINERFILE]
# CONTAINERFILE defaults to CONTEXT/Containerfile. buildah keeps its storage in a temporary
# directory that is removed afterwards (nothing under /var/lib/containers stays); no registry and
# no base image are contacted. The archive's image is named REF, so `ctr -n k8s.io images import
# OUT.tar` makes REF available to a node. Prints REF.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 3 ] || { echo "usage: scripts/oci-image.sh CONTEXT REF OUT.tar [CONTAINERFILE]" >&2; exit 2; }
context=$1 ref=$2 out=$3 file=${4:-$1/Containerfile}
[ -f "$file" ] || { echo "doppel scripts: the Containerfile $file does not exist." >&2; exit 2; }
if grep -iE '^[[:space:]]*FROM[[:space:]]' "$file" | grep -viqE '^[[:space:]]*FROM[[:space:]]+scratch[[:space:]]*$'; then
  echo "doppel scripts: $file must build FROM scratch (no base image is downloaded)." >&2
  exit 2
fi
command -v buildah >/dev/null || { echo "doppel scripts: buildah is missing; apt-get install buildah." >&2; exit 1; }

# buildah writes a blob cache under /var/lib/containers whatever --root says: remove it if it is new.
had_var_lib_containers=0
[ -e /var/lib/containers ] && had_var_lib_containers=1
store=$(mktemp -d "${TMPDIR:-/tmp}/doppel-buildah.XXXXXX")
cleanup() {
  buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs rm --all >/dev/null 2>&1 || true
  # vfs layers are plain directories, but a failed build may leave a mount behind.
  findmnt -rn -o TARGET | grep -F "$store/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  rm -rf "$store"
  [ "$had_var_lib_containers" = 1 ] || rm -rf /var/lib/containers
}
trap cleanup EXIT

buildah_() { buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }
# --timestamp 0: the same inputs give the same image digest; --pull=never: no registry, ever.
buildah_ build --quiet --pull=never --isolation chroot --timestamp 0 \
  -f "$file" -t "$ref" "$context" >/dev/null
mkdir -p "$(dirname "$out")"
rm -f "$out"
buildah_ push --quiet "$ref" "oci-archive:$out:$ref" >/dev/null
echo "$ref"
