#!/usr/bin/env bash
# The test Kubernetes cluster: one node, every component a plain root process, sealed.
#
#   scripts/kube-cluster.sh up DIR          start it; prints the env lines (KUBECONFIG=..., ...) last
#   scripts/kube-cluster.sh down DIR        stop it and put the machine back as it was (also after a failed up)
#   scripts/kube-cluster.sh env DIR         print the env lines of a running cluster
#   scripts/kube-cluster.sh import DIR TAR  import an image archive (OCI or docker) into the node
#   scripts/kube-cluster.sh restart-apiserver DIR  stop the API server (TERM; KILL after 2 s) and start it
#                                           again with the same flags; returns once /readyz answers,
#                                           printing the milliseconds that took
#
# Binaries: DOPPEL_KUBE_BIN names a directory with either `hyperkube` (or hyperkube.xz: one binary,
# the component chosen by argv[0]) or the separate binaries of a server release (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl). An optional `pause`
# (or pause.xz) there is the sandbox; without it a busybox stand-in is. Default:
# ../shared/kubernetes/bin next to the repository (of the main worktree when this is another one).
# etcd, containerd, runc, the CNI plugins, dnsmasq and buildah come from Debian (scripts/lib.sh
# KUBE_PACKAGES). DIR should be short: unix socket paths under it must stay below 108 bytes.
#
#  host (root netns)                                     pods
#  ┌─────────────────────────────────────────────┐       ┌──────────────────────────┐
#  │ etcd 127.0.0.1:2379  apiserver :6443        │       │ 10.245.0.N/24 eth0       │
#  │ controller-manager, scheduler (127.0.0.1)   │       │ default via 10.245.0.1   │
#  │ kubelet 10.245.0.1:10250, kube-proxy        │◄─────►│ nameserver 10.97.0.10    │
#  │ containerd DIR/run/containerd.sock          │ dkbr0 └──────────────────────────┘
#  │ dnsmasq 10.245.0.1:53 (cluster DNS)         │ 10.245.0.1/24; services 10.97.0.0/16 routed onto it
#  └─────────────────────────────────────────────┘
# Sealing: every component runs with group KUBE_GID; the OUTPUT guard rejects that group's packets
# to anything but lo and the bridge (no registry pull, no cloud metadata probe), the FORWARD guard
# lets nothing from the bridge out to another interface or in from one, the INPUT guard keeps the
# cluster's ports to lo and the bridge.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: scripts/kube-cluster.sh up|down|env|restart-apiserver DIR | import DIR TAR" >&2; exit 2; }
[ $# -ge 2 ] || usage
ACTION=$1
DIR=$2
[ "$ACTION" = up ] && mkdir -p "$DIR"
[ -d "$DIR" ] || { [ "$ACTION" = down ] && exit 0; echo "kube-cluster: no cluster directory $DIR." >&2; exit 1; }
DIR=$(cd "$DIR" && pwd)

NODE=doppel-node
BRIDGE=dkbr0
NODE_IP=10.245.0.1
POD_CIDR=10.245.0.0/24
CLUSTER_CIDR=10.245.0.0/16
SERVICE_CIDR=10.97.0.0/16
API_SERVICE_IP=10.97.0.1
DNS_IP=10.97.0.10
API_PORT=6443
ETCD_PORT=2379
ETCD_PEER_PORT=2380
CLUSTER_PORTS="$API_PORT,$ETCD_PORT,$ETCD_PEER_PORT,10248,10249,10250,10256,10257,10259"
KUBE_GID=${KUBE_GID:-4243}
FEATURE_GATES=EphemeralContainers=true
PAUSE_IMAGE=doppel.local/pause:3.4
BUSYBOX_IMAGE=doppel.local/busybox:1.35
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
# Stopped in this order by down (the node side first, etcd last).
PROCESSES=(dns-feed dnsmasq kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver containerd etcd)
# Sysctls kubelet (vm.*, kernel.*), kube-proxy (route_localnet) and the bridge plugin (ip_forward) change.
SYSCTLS=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host paths containerd, kubelet and the CNI plugins use whatever their root directories say.
HOST_PATHS=(/run/containerd /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /var/lib/containers)

BIN=$DIR/bin PKI=$DIR/pki LOGS=$DIR/logs RUN=$DIR/run STATE=$DIR/host-before
SOCK=$RUN/containerd.sock

note() { printf '[kube %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
fail() { note "error: $*"; exit 1; }
elapsed() { echo "$(( ($(date +%s%N) - T0) / 1000000 )) ms"; }
kubectl_() { "$BIN/kubectl" --kubeconfig "$DIR/admin.kubeconfig" "$@"; }
ctr_() { ctr --address "$SOCK" --namespace k8s.io "$@"; }

# until SECONDS WHAT CMD...: runs CMD every 0.2 s until it succeeds; fails after SECONDS.
until_ok() {
  local deadline=$(( $(date +%s) + $1 )) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what did not happen within the time allowed; see $LOGS"
    sleep 0.2
  done
}

# launch NAME CMD...: a detached process (its own session, group KUBE_GID), pid in RUN/NAME.pid.
launch() {
  local name=$1
  shift
  setsid setpriv --regid "$KUBE_GID" --keep-groups "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}
running() { local pid; pid=$(cat "$RUN/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }

# ---------------------------------------------------------------------------------------- binaries
default_bin_dir() {
  local dir="$ROOT/../shared/kubernetes/bin" common
  if [ ! -d "$dir" ] && common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
    dir="$(dirname "$common")/../shared/kubernetes/bin"
  fi
  echo "$dir"
}

# unpack SRC_DIR NAME: DIR/bin/NAME from SRC_DIR/NAME or SRC_DIR/NAME.xz; false when neither exists.
unpack() {
  local src=$1 name=$2
  [ -x "$BIN/$name" ] && return 0
  # (Called in `if` conditions, where errexit is off: every step checks itself.)
  if [ -f "$src/$name" ]; then
    cp "$src/$name" "$BIN/$name.part" || fail "$src/$name could not be copied."
  elif [ -f "$src/$name.xz" ]; then
    xz --decompress --stdout --threads=2 "$src/$name.xz" >"$BIN/$name.part" || fail "$src/$name.xz could not be decompressed."
  else
    return 1
  fi
  chmod 0755 "$BIN/$name.part" && mv "$BIN/$name.part" "$BIN/$name" || fail "$BIN/$name could not be installed."
}

install_binaries() {
  local src=${DOPPEL_KUBE_BIN:-$(default_bin_dir)} name
  mkdir -p "$BIN"
  if unpack "$src" hyperkube; then
    for name in "${COMPONENTS[@]}"; do ln -sfn hyperkube "$BIN/$name"; done
  else
    for name in "${COMPONENTS[@]}"; do
      unpack "$src" "$name" || fail "no Kubernetes server binaries in '$src': set DOPPEL_KUBE_BIN to a directory holding hyperkube (or hyperkube.xz) or kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl."
    done
  fi
  unpack "$src" pause || true
}

check_host() {
  [ "$(id -u)" -eq 0 ] || fail "the test cluster needs root."
  local tool
  for tool in etcd containerd containerd-shim-runc-v2 runc ctr iptables ip6tables nft openssl xz setpriv buildah ip; do
    command -v "$tool" >/dev/null || fail "'$tool' is missing; install scripts/lib.sh's KUBE_PACKAGES (apt-get install ${KUBE_PACKAGES[*]})."
  done
  for tool in bridge host-local loopback portmap; do
    [ -x "/usr/lib/cni/$tool" ] || fail "the CNI plugin /usr/lib/cni/$tool is missing; install containernetworking-plugins."
  done
  { ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic' || fail "/bin/busybox is not static; install busybox-static."
  [ ! -e "$RUN/etcd.pid" ] || fail "a cluster already runs in $DIR; call down first."
  if ip link show "$BRIDGE" >/dev/null 2>&1 || ss -Htln "sport = :$API_PORT or sport = :10250" | grep -q .; then
    local left
    left=$(ls -d /tmp/*/run/containerd.sock 2>/dev/null | sed 's|/run/containerd.sock$||' | tr '\n' ' ')
    fail "another test cluster runs on this machine (bridge $BRIDGE or port $API_PORT/10250 in use); only one can. If it is left over, scripts/kube-cluster.sh down DIR removes it (DIR: ${left:-unknown})."
  fi
}

# ---------------------------------------------------------------------------------------- PKI
# ECDSA P-256 throughout (ServiceAccount tokens ES256): key generation is instant, where RSA keys
# took seconds each on a loaded machine.
# leaf NAME SUBJECT USAGE [SAN] [CA]: key + certificate signed by the cluster CA (10 years).
leaf() {
  local name=$1 subject=$2 usage=$3 san=${4:-}
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s' \
    "$usage" "${san:+subjectAltName=$san}" >"$PKI/$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/${5:-ca}.crt" -CAkey "$PKI/${5:-ca}.key" -CAcreateserial \
    -CAserial "$PKI/$name.srl" -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
}
authority() { # NAME CN
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" \
    -out "$PKI/$1.crt" 2>/dev/null
}
make_pki() {
  mkdir -p "$PKI"
  authority ca doppel-test-ca &
  authority front-proxy-ca doppel-test-front-proxy-ca &
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" &
  wait
  openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  local services="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  leaf apiserver /CN=kube-apiserver serverAuth "$services,DNS:localhost,DNS:$NODE,IP:127.0.0.1,IP:$NODE_IP,IP:$API_SERVICE_IP" &
  leaf apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client clientAuth &
  leaf admin /O=system:masters/CN=kubernetes-admin clientAuth &
  # The controllers share one identity in system:masters: no per-controller ServiceAccount
  # credentials to mint, so the first pods can start sooner.
  leaf controller-manager /O=system:masters/CN=system:kube-controller-manager clientAuth &
  leaf scheduler /CN=system:kube-scheduler clientAuth &
  leaf kube-proxy /CN=system:kube-proxy clientAuth &
  leaf kubelet "/O=system:nodes/CN=system:node:$NODE" clientAuth &
  leaf kubelet-server "/CN=$NODE" serverAuth "DNS:$NODE,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1" &
  leaf front-proxy-client /CN=front-proxy-client clientAuth "" front-proxy-ca &
  wait
  local name
  for name in apiserver apiserver-kubelet-client admin controller-manager scheduler kube-proxy kubelet kubelet-server front-proxy-client; do
    [ -s "$PKI/$name.crt" ] || fail "openssl did not make the certificate '$name'."
  done
  rm -f "$PKI"/*.csr "$PKI"/*.ext "$PKI"/*.srl
}

# kubeconfig USER CERT: DIR/USER.kubeconfig for https://127.0.0.1:API_PORT, credentials embedded.
kubeconfig() {
  cat >"$DIR/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: doppel-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$2.crt")
    client-key-data: $(base64 -w0 "$PKI/$2.key")
contexts:
- name: doppel-test
  context: {cluster: doppel-test, user: $1, namespace: default}
current-context: doppel-test
EOF
}

# ---------------------------------------------------------------------------------------- configuration
write_configuration() {
  mkdir -p "$DIR/containerd" "$DIR/cni/net.d" "$DIR/cni/ipam" "$DIR/kubelet" "$DIR/etcd"
  # containerd: state under DIR; no negative oom_score_adj (hosts without CAP_SYS_RESOURCE).
  cat >"$DIR/containerd/config.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
    max_conf_num = 1
EOF
  cat >"$DIR/cni/net.d/10-doppel-test.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "doppel-test", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$DIR/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
  # Pods with dnsPolicy Default get no resolver at all: nothing to forward to.
  : >"$DIR/kubelet/resolv.conf"
  cat >"$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $PKI/ca.crt}}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: $DIR/kubelet/resolv.conf
featureGates: {EphemeralContainers: true}
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
nodeStatusUpdateFrequency: 1s
syncFrequency: 10s
oomScoreAdj: 0
EOF
}

# ---------------------------------------------------------------------------------------- host state
# What down compares against: recorded once, before up changes anything.
record_host() {
  [ -d "$STATE" ] && return 0
  mkdir -p "$STATE"
  local key path
  for key in "${SYSCTLS[@]}"; do sysctl -n "$key" 2>/dev/null | sed "s|^|$key=|"; done >"$STATE/sysctl"
  for path in "${HOST_PATHS[@]}"; do [ -e "$path" ] && echo "$path"; done >"$STATE/paths" || true
  ls /run/netns >"$STATE/netns" 2>/dev/null || true
  nft list tables >"$STATE/tables" 2>/dev/null || true
}

seal() {
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # A ClusterIP that kube-proxy has no rule for goes to the bridge, never to the default route.
  ip route add "$SERVICE_CIDR" dev "$BRIDGE"
  iptables -N DKUBE-FORWARD
  iptables -A DKUBE-FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
  iptables -A DKUBE-FORWARD ! -i "$BRIDGE" -o "$BRIDGE" -j DROP
  iptables -I FORWARD 1 -j DKUBE-FORWARD
  iptables -N DKUBE-INPUT
  iptables -A DKUBE-INPUT -i lo -j RETURN
  iptables -A DKUBE-INPUT -i "$BRIDGE" -j RETURN
  iptables -A DKUBE-INPUT -d "$NODE_IP" -j DROP
  iptables -A DKUBE-INPUT -p tcp -m multiport --dports "$CLUSTER_PORTS" -j DROP
  iptables -I INPUT 1 -j DKUBE-INPUT
  iptables -N DKUBE-OUTPUT
  iptables -A DKUBE-OUTPUT -o lo -j RETURN
  iptables -A DKUBE-OUTPUT -o "$BRIDGE" -j RETURN
  # Link-local (cloud metadata, 169.254.169.254) first, on its own: its counter shows any probe.
  iptables -A DKUBE-OUTPUT -m owner --gid-owner "$KUBE_GID" -d 169.254.0.0/16 -j REJECT
  iptables -A DKUBE-OUTPUT -m owner --gid-owner "$KUBE_GID" -j REJECT
  iptables -I OUTPUT 1 -j DKUBE-OUTPUT
  # No IPv6 in the cluster: its group sends none either.
  ip6tables -N DKUBE-OUTPUT
  ip6tables -A DKUBE-OUTPUT -o lo -j RETURN
  ip6tables -A DKUBE-OUTPUT -m owner --gid-owner "$KUBE_GID" -j REJECT
  ip6tables -I OUTPUT 1 -j DKUBE-OUTPUT
}

# kube-proxy prepends its jumps (KUBE-FORWARD accepts packets it marked for masquerading, such as
# a Service whose Endpoints are outside): once they exist, the guards go back in front. kube-proxy
# only checks that its jumps exist, so they stay second.
guards_first() {
  until_ok 30 "kube-proxy's iptables rules" iptables -w -C FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
  local chain
  for chain in FORWARD INPUT OUTPUT; do
    iptables -w -D "$chain" -j "DKUBE-$chain"
    iptables -w -I "$chain" 1 -j "DKUBE-$chain"
  done
}

# ---------------------------------------------------------------------------------------- images
# image NAME REF BINARY ENTRYPOINT_JSON [USER]: a FROM-scratch image of one static binary, via
# scripts/oci-image.sh, into DIR/images/NAME.tar, then into the node.
build_busybox_rootfs() {
  local root=$1 applet
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/www}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list-full); do
    [ "$applet" = bin/busybox ] || ln -sfn /bin/busybox "$root/$applet"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
}
make_images() {
  local work=$DIR/images
  mkdir -p "$work/busybox/rootfs" "$work/pause/rootfs"
  build_busybox_rootfs "$work/busybox/rootfs"
  printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >"$work/busybox/Containerfile"
  if [ -x "$BIN/pause" ]; then
    cp "$BIN/pause" "$work/pause/rootfs/pause"
    printf 'FROM scratch\nCOPY rootfs/ /\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$work/pause/Containerfile"
  else
    # Stand-in sandbox: holds the pod's namespaces; killed (not stopped) when the pod goes.
    mkdir -p "$work/pause/rootfs/bin"
    cp /bin/busybox "$work/pause/rootfs/bin/busybox"
    printf 'FROM scratch\nCOPY rootfs/ /\nUSER 65535:65535\nENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]\n' >"$work/pause/Containerfile"
  fi
  "$ROOT/scripts/oci-image.sh" "$work/pause" "$PAUSE_IMAGE" "$work/pause.tar" >/dev/null &
  "$ROOT/scripts/oci-image.sh" "$work/busybox" "$BUSYBOX_IMAGE" "$work/busybox.tar" >/dev/null &
  wait %1 || fail "the pause image could not be built."
  wait %2 || fail "the busybox image could not be built."
}
import_image() { ctr_ images import "$1" >/dev/null; }

# ---------------------------------------------------------------------------------------- DNS
# Cluster DNS stand-in: dnsmasq on the node IP answers *.svc.cluster.local from a hosts file that
# dns_feed rewrites on every Service/Endpoints change; nothing else (no upstream).
# Fails when the API server cannot be asked (restarting): the file then keeps its last content.
dns_hosts() {
  local lines
  lines=$(kubectl_ get services -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name} {.spec.clusterIP}{"\n"}{end}') || return 1
  while read -r ns name ip; do
    [ -n "$ip" ] || continue
    if [ "$ip" = None ]; then
      kubectl_ get endpoints -n "$ns" "$name" -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{"\n"}{end}' 2>/dev/null |
        while read -r a; do [ -n "$a" ] && echo "$a $name.$ns.svc.cluster.local $name.$ns.svc"; done
    else
      echo "$ip $name.$ns.svc.cluster.local $name.$ns.svc"
    fi
  done <<<"$lines"
}
# False (and the file unchanged) when the API server could not be asked.
dns_write() {
  local next=$DIR/dns/hosts.d/.next status=0
  if dns_hosts >"$next"; then
    cmp -s "$next" "$DIR/dns/hosts.d/services" || mv "$next" "$DIR/dns/hosts.d/services"
  else
    status=1
  fi
  rm -f "$next"
  return $status
}
dns_feed() {
  while :; do
    # Until the API server answers (it may be restarting) nothing is written and nothing watched.
    until dns_write; do sleep 0.5; done
    # One line per change; the watch ends after 60 s (and is then restarted) to bound any miss.
    timeout 60 "$BIN/kubectl" --kubeconfig "$DIR/admin.kubeconfig" get endpoints -A --watch-only -o name 2>/dev/null |
      while read -r _; do dns_write; done || true
  done
}
start_dns() {
  mkdir -p "$DIR/dns/hosts.d"
  kubectl_ apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_IP
  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
subsets: [{addresses: [{ip: $NODE_IP}], ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]}]
EOF
  dns_write
  launch dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --group=root --pid-file= \
    --listen-address="$NODE_IP" --bind-interfaces --no-resolv --no-hosts --no-poll --local=/cluster.local/ \
    --hostsdir="$DIR/dns/hosts.d" --domain-needed --local-ttl=1 --neg-ttl=1 --cache-size=0
  launch dns-feed bash "${BASH_SOURCE[0]}" dns-feed "$DIR"
  until_ok 10 "dnsmasq listening" bash -c "exec 3<>/dev/tcp/$NODE_IP/53"
}

# ---------------------------------------------------------------------------------------- API server
# The one place its flags are: up and restart-apiserver start it the same way.
start_apiserver() {
  launch kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 0.0.0.0 --secure-port "$API_PORT" --insecure-port 0 --advertise-address "$NODE_IP" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true --feature-gates "$FEATURE_GATES" \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --profiling=false --v 1
}

# restart-apiserver: what a control-plane upgrade or a crash does to clients. TERM to the API server
# up started (its own process group, by the pid file; KILL after 2 s), the same command again,
# then /readyz. Prints the milliseconds from the stop to ready as its last line.
restart_apiserver() {
  T0=$(date +%s%N)
  running kube-apiserver || fail "no API server runs in $DIR (no live $RUN/kube-apiserver.pid)."
  stop_all 2 kube-apiserver
  note "kube-apiserver stopped ($(elapsed))"
  # Its log so far is kept beside the new one.
  mv "$LOGS/kube-apiserver.log" "$LOGS/kube-apiserver.$(date +%s).log" 2>/dev/null || true
  start_apiserver
  until_ok 90 "apiserver ready" kubectl_ get --raw /readyz
  note "apiserver ready again ($(elapsed))"
  echo "$(( ($(date +%s%N) - T0) / 1000000 ))"
}

# ---------------------------------------------------------------------------------------- up
up() {
  T0=$(date +%s%N)
  check_host
  mkdir -p "$LOGS" "$RUN"
  record_host
  # The slow steps side by side: hyperkube decompression, certificates, images (which need pause).
  local src=${DOPPEL_KUBE_BIN:-$(default_bin_dir)}
  mkdir -p "$BIN"
  unpack "$src" pause || true
  install_binaries &
  local binaries=$!
  make_pki &
  local pki=$!
  make_images &
  local images=$!
  wait $pki || fail "the certificates could not be made."
  wait $binaries || exit 1
  note "binaries and certificates ready ($(elapsed))"
  write_configuration
  kubeconfig admin admin
  local user
  for user in controller-manager scheduler kubelet kube-proxy; do kubeconfig "$user" "$user"; done
  seal
  note "binaries, certificates, network ready ($(elapsed))"

  launch etcd etcd --name doppel-test --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "doppel-test=http://127.0.0.1:$ETCD_PEER_PORT" --logger zap --log-level warn
  launch containerd containerd --config "$DIR/containerd/config.toml"
  until_ok 30 "etcd listening" bash -c "exec 3<>/dev/tcp/127.0.0.1/$ETCD_PORT"
  start_apiserver

  until_ok 30 "containerd answering" ctr --address "$SOCK" version
  wait $images || fail "the pause and busybox images could not be built."
  import_image "$DIR/images/pause.tar"
  import_image "$DIR/images/busybox.tar"
  note "containerd up, images imported ($(elapsed))"

  until_ok 90 "apiserver ready" kubectl_ get --raw /readyz
  note "apiserver ready ($(elapsed))"
  # Node CIDRs are set below instead of by node-IPAM, which waits 10 s before it starts.
  launch kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/controller-manager.kubeconfig" --authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --port 0 --leader-elect=false --controllers '*,bootstrapsigner,tokencleaner' \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --root-ca-file "$PKI/ca.crt" \
    --service-account-private-key-file "$PKI/sa.key" --allocate-node-cidrs=false --cluster-cidr "$CLUSTER_CIDR" \
    --service-cluster-ip-range "$SERVICE_CIDR" --feature-gates "$FEATURE_GATES" --kube-api-qps 200 --kube-api-burst 400 \
    --profiling=false --v 1
  launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/scheduler.kubeconfig" --authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --port 0 --leader-elect=false --feature-gates "$FEATURE_GATES" \
    --kube-api-qps 200 --kube-api-burst 400 --profiling=false --v 1
  launch kubelet "$BIN/kubelet" --config "$DIR/kubelet/config.yaml" --kubeconfig "$DIR/kubelet.kubeconfig" \
    --container-runtime remote --container-runtime-endpoint "unix://$SOCK" \
    --root-dir "$DIR/kubelet/root" --cert-dir "$DIR/kubelet/pki" --volume-plugin-dir "$DIR/kubelet/plugins" \
    --node-ip "$NODE_IP" --hostname-override "$NODE" --v 1
  launch kube-proxy "$BIN/kube-proxy" --kubeconfig "$DIR/kube-proxy.kubeconfig" --proxy-mode iptables \
    --cluster-cidr "$CLUSTER_CIDR" --hostname-override "$NODE" --bind-address "$NODE_IP" \
    --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 \
    --nodeport-addresses "127.0.0.0/8,$NODE_IP/32" --oom-score-adj 0 \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 --v 1

  until_ok 60 "node registration" kubectl_ get node "$NODE"
  kubectl_ patch node "$NODE" -p "{\"spec\":{\"podCIDR\":\"$POD_CIDR\",\"podCIDRs\":[\"$POD_CIDR\"]}}" >/dev/null
  local deadline=$(( $(date +%s) + 120 )) name
  until [ "$(kubectl_ get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; do
    for name in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
      running "$name" || { tail -n 15 "$LOGS/$name.log" >&2; fail "$name exited during start"; }
    done
    [ "$(date +%s)" -lt "$deadline" ] || fail "the node did not become Ready within 120 s; see $LOGS/kubelet.log"
    sleep 0.3
  done
  # Pods can be created once the default ServiceAccount has its token.
  until_ok 60 "default ServiceAccount token" bash -c "[ -n \"\$('$BIN/kubectl' --kubeconfig '$DIR/admin.kubeconfig' get serviceaccount default -o jsonpath='{.secrets[0].name}')\" ]"
  guards_first
  start_dns
  note "node $NODE Ready, cluster DNS on $DNS_IP ($(elapsed))"
  print_env
}

print_env() {
  cat <<EOF
KUBECONFIG=$DIR/admin.kubeconfig
DOPPEL_KUBECTL=$BIN/kubectl
DOPPEL_KUBE_CONTAINERD=$SOCK
DOPPEL_KUBE_NODE=$NODE
DOPPEL_KUBE_NODE_IP=$NODE_IP
EOF
}

# ---------------------------------------------------------------------------------------- down
# stop_all SECONDS NAME...: TERM to each, then KILL what still runs after SECONDS.
stop_all() {
  local seconds=$1 name pid pids=() names=()
  shift
  for name in "$@"; do
    pid=$(cat "$RUN/$name.pid" 2>/dev/null) || continue
    # Each was started in its own session: the group holds its children too (dns-feed's kubectl).
    kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null && pids+=("$pid") && names+=("$name")
    rm -f "$RUN/$name.pid"
  done
  local deadline=$(( $(date +%s%N) + seconds * 1000000000 )) i
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s%N)" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      note "${names[$i]} did not stop within ${seconds} s: killed"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
}

# Removes every iptables rule and chain whose name starts with KUBE-, CNI- or DKUBE- from TABLE.
drop_chains() {
  local tool=$1 table=$2 rules
  rules=$("$tool-save" -t "$table" 2>/dev/null) || return 0
  grep -qE '(KUBE|CNI|DKUBE)-' <<<"$rules" || return 0
  grep -vE '^(:|-A )(KUBE|CNI|DKUBE)-|-[jg] (KUBE|CNI|DKUBE)-' <<<"$rules" | "$tool-restore" -T "$table" ||
    note "warning: $tool table $table kept some cluster rules"
}

down() {
  T0=$(date +%s%N)
  [ -d "$RUN" ] || { rmdir "$DIR" 2>/dev/null || true; return 0; }
  stop_all 3 dns-feed dnsmasq
  stop_all 10 kube-proxy kubelet kube-scheduler kube-controller-manager
  # The API server holds no host state and waits for its clients' requests on TERM (over 10 s).
  stop_all 2 kube-apiserver
  note "components stopped ($(elapsed))"
  if running containerd; then
    local task container
    for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill --all --signal SIGKILL "$task" >/dev/null 2>&1 || true; done
    sleep 0.2
    for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete --force "$task" >/dev/null 2>&1 || true; done
    for container in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$container" >/dev/null 2>&1 || true; done
  fi
  stop_all 10 containerd etcd
  note "pods, containerd, etcd stopped ($(elapsed))"
  # Shims of this containerd outlive it: theirs are the ones whose command line names its socket.
  local pid
  for pid in $(pgrep -f '^/usr/bin/containerd-shim-runc-v2 ' 2>/dev/null); do
    grep -qF -- "$SOCK" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
  # Processes left in the pods' cgroups (a shim's children): by pid, from the kubepods cgroups.
  local procs
  for procs in $(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -name cgroup.procs 2>/dev/null); do
    for pid in $(cat "$procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done

  # Mounts: everything under DIR, /run/containerd (if up made it) and the pods' network namespaces.
  local ns new_netns=() pattern="^$DIR/"
  grep -qx /run/containerd "$STATE/paths" 2>/dev/null || pattern="$pattern|^/run/containerd/"
  for ns in $(ls /run/netns 2>/dev/null); do
    [[ $ns == cni-* ]] && ! grep -qx "$ns" "$STATE/netns" 2>/dev/null && new_netns+=("$ns") && pattern="$pattern|^/run/netns/$ns\$"
  done
  findmnt -rn -o TARGET | grep -E "$pattern" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for ns in "${new_netns[@]}"; do rm -f "/run/netns/$ns"; done
  local cg
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done

  [ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  local table tool
  for tool in iptables ip6tables; do
    for table in filter nat mangle raw; do drop_chains "$tool" "$table"; done
  done
  # iptables-nft leaves the tables it made; drop those that are empty now and were not there before.
  for table in filter nat mangle raw security; do
    for tool in ip ip6; do
      grep -qx "table $tool $table" "$STATE/tables" 2>/dev/null && continue
      nft list table "$tool" "$table" >/dev/null 2>&1 || continue
      local save=iptables; [ "$tool" = ip6 ] && save=ip6tables
      "$save-save" -t "$table" 2>/dev/null | grep -q '^-A' || nft delete table "$tool" "$table" 2>/dev/null || true
    done
  done
  local link
  for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  if [ -f "$STATE/sysctl" ]; then
    local line
    while read -r line; do sysctl -qw "$line" 2>/dev/null || true; done <"$STATE/sysctl"
  fi
  local path
  for path in "${HOST_PATHS[@]}"; do
    grep -qx "$path" "$STATE/paths" 2>/dev/null || rm -rf "$path"
  done
  if command -v conntrack >/dev/null; then
    for pattern in "-s $CLUSTER_CIDR" "-d $CLUSTER_CIDR" "-d $SERVICE_CIDR"; do
      # shellcheck disable=SC2086
      conntrack -D $pattern >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$DIR"
  note "down in $(elapsed)"
}

case $ACTION in
  up)
    # A failed up leaves nothing behind either. (Not `up || down`: that would switch errexit off inside up.)
    trap 'status=$?; if [ $status -ne 0 ]; then note "up failed: tearing down"; set +e +o pipefail; down; fi; exit $status' EXIT
    up
    trap - EXIT
    ;;
  down)
    # Best effort to the end: one step that fails must not leave the others undone.
    set +e +o pipefail
    down
    ;;
  env) [ -S "$SOCK" ] || fail "no cluster runs in $DIR."; print_env ;;
  import)
    [ $# -ge 3 ] || usage
    [ -S "$SOCK" ] || fail "no cluster runs in $DIR."
    for tar in "${@:3}"; do import_image "$tar" || fail "containerd could not import $tar."; done
    ;;
  restart-apiserver) restart_apiserver ;;
  dns-feed) dns_feed ;;
  *) usage ;;
esac
