# Shared helpers for scripts/*.sh. Source it; it sets ROOT to the repository root.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf '==> %s\n' "$*"; }

# ensure_packages PKG...: installs the Debian packages that are missing (apt-get update first).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "doppel scripts: these packages are missing and installing them needs root: ${missing[*]}" >&2
    echo "Install them (apt-get install ${missing[*]}) or run the script as root." >&2
    return 1
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building needs: gcc links the NativeAOT binaries (with zlib).
BUILD_PACKAGES=(gcc libc6-dev zlib1g-dev)

# What the tests need besides the build: real programs and the network tools.
# The mini-cluster (tests/Doppel.Testing) adds dnsmasq-base (cluster DNS; -base: no system
# service), runc and busybox-static (the container pod), hostname (pod UTS names) and libc-bin (getent).
# libnftables1 is what doppel-agent's incoming redirect loads (libnftables.so.1); nftables gives
# the tests `nft list tables` to check that a redirect table is gone. wrk (HTTP/1.1) and
# nghttp2-client (h2load, nghttp) load the incoming paths; node-ws is the WebSocket client and
# server (in /usr/share/nodejs: tests set NODE_PATH).
TEST_PACKAGES=(curl iproute2 util-linux python3 golang-go nodejs node-ws coreutils findutils dnsmasq-base runc busybox-static hostname libc-bin libnftables1 nftables wrk nghttp2-client)

# What the real test cluster (scripts/kube-cluster.sh, tests/Doppel.Kubernetes.Tests) needs besides
# the Kubernetes binaries of DOPPEL_KUBE_BIN: etcd, containerd + runc and the CNI plugins (the
# node), iptables (kube-proxy and the cluster's egress guard), conntrack (flushing the cluster's
# entries at down), buildah (images FROM scratch, offline), busybox-static (the workload image),
# dnsmasq-base (the cluster DNS stand-in), xz-utils (hyperkube.xz), openssl (the cluster's PKI).
KUBE_PACKAGES=(containerd runc containernetworking-plugins etcd-server iptables conntrack buildah busybox-static dnsmasq-base xz-utils openssl iproute2 util-linux libnftables1)
