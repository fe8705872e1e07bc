#!/usr/bin/env bash
# A local Kubernetes control plane on 127.0.0.1 for the e2e tests and the demo:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
# nodes whose pods kwok marks Running/Ready). Binaries come from scripts/tools.sh.
#
# Usage: scripts/cluster.sh up|down|status|env|stop-apiserver|start-apiserver|restart-apiserver
#   up      start (or reuse a healthy running) cluster; prints how to use it
#   down    stop every process this state dir started; waits for them to exit
#   status  exit 0 when running and healthy, 1 otherwise
#   env     print `export KUBECONFIG=…` (for eval)
#   stop-apiserver / start-apiserver / restart-apiserver
#           only the API server (etcd and its data stay): breaks clients' connections and watches
#
# Environment (all optional):
#   FUSEML_CACHE_DIR        cache root (default ~/.cache/fuseml); state in $FUSEML_CACHE_DIR/cluster
#   FUSEML_CLUSTER_DIR      state dir (certs, kubeconfig, etcd data, logs, pids)
#   FUSEML_CLUSTER_PORT     apiserver port (default 36443); etcd, controller-manager,
#                           scheduler and kwok use the next five ports
#   FUSEML_CLUSTER_NODES    number of fake nodes (default 2)
#   FUSEML_KUBECTL          kubectl to use (default: kubectl on PATH)
set -euo pipefail
# The whole script is one brace group: bash parses it completely before running it, so
# editing (or git-updating) this file while it runs cannot change what runs.
{

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FUSEML_CACHE_DIR:-$HOME/.cache/fuseml}"
STATE="${FUSEML_CLUSTER_DIR:-$CACHE/cluster}"
PORT="${FUSEML_CLUSTER_PORT:-36443}"
ETCD_PORT=$((PORT + 1))
ETCD_PEER_PORT=$((PORT + 2))
KCM_PORT=$((PORT + 3))
SCHED_PORT=$((PORT + 4))
KWOK_PORT=$((PORT + 5))
NODES="${FUSEML_CLUSTER_NODES:-2}"
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
KUBECONFIG_FILE="$STATE/kubeconfig"
PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
# Stop order is the reverse of this start order.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

say() { echo "cluster.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

kubectl_bin() {
  if [[ -n "${FUSEML_KUBECTL:-}" ]]; then echo "$FUSEML_KUBECTL"; return; fi
  command -v kubectl >/dev/null && { command -v kubectl; return; }
  # Fall back to the one scripts/tools.sh builds when PATH has none.
  local tools_env
  tools_env="$("$ROOT/scripts/tools.sh" --print-env)" || die "scripts/tools.sh failed"
  eval "$tools_env"
  [[ -n "${FUSEML_KUBECTL:-}" ]] || die "kubectl not found: put it on PATH or set FUSEML_KUBECTL"
  echo "$FUSEML_KUBECTL"
}
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"; }

# ---- process bookkeeping ---------------------------------------------------

pid_of() { [[ -f "$PIDS/$1.pid" ]] && cat "$PIDS/$1.pid"; }

# alive NAME: the recorded pid runs and is still our binary (pids get reused).
alive() {
  local pid exe
  pid="$(pid_of "$1")" || return 1
  [[ -n "$pid" ]] && running "$pid" || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ "$(basename "${exe% (deleted)}")" == "$1" ]]
}

# running PID: the process exists and is not a zombie (a detached child is reaped by
# init, which may take a while).
running() {
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

any_alive() { local c; for c in "${COMPONENTS[@]}"; do alive "$c" && return 0; done; return 1; }

# start NAME BINARY ARGS...: detached (own session), stdio to the log file, pid recorded.
start() {
  local name="$1" bin="$2"; shift 2
  [[ -x "$bin" ]] || die "$bin is missing; run scripts/tools.sh"
  echo "---- $(date -u +%FT%TZ) start" >>"$LOGS/$name.log"
  # 9>&-: the child must not inherit (and so hold) the state lock.
  setsid "$bin" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
  echo $! >"$PIDS/$name.pid"
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_one "${COMPONENTS[$i]}"; done
}

# stop_one NAME [SIGNAL]: SIGNAL (default TERM; KILL after 20s) to the recorded process of component NAME.
stop_one() {
  local c="$1" sig="${2:-TERM}" pid deadline
  if alive "$c"; then
    pid="$(pid_of "$c")"
    kill -"$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while running "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if running "$pid"; then
      say "$c ($pid) did not stop in 20s; killing"
      kill -KILL "$pid" 2>/dev/null || true
      while running "$pid"; do sleep 0.1; done
    fi
  fi
  rm -f "$PIDS/$c.pid"
}

# port_busy PORT: something accepts connections on 127.0.0.1:PORT (bash's /dev/tcp; no ss/curl needed).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for WHAT SECONDS CMD...: poll until CMD succeeds; on timeout show the log tail.
wait_for() {
  local what="$1" secs="$2" log="$3"; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      say "timed out after ${secs}s waiting for $what; last lines of $log:"
      tail -n 25 "$log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

# ---- certificates ------------------------------------------------------------

# client_cert NAME CN [O]: key + cert signed by the cluster CA, for client auth.
client_cert() {
  local name="$1" cn="$2" org="${3:-}"
  local subj="/CN=$cn"; [[ -n "$org" ]] && subj="/O=$org$subj"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

# kubeconfig FILE CERTNAME: a kubeconfig with embedded client cert (no secrets on argv:
# kubectl reads the files itself).
write_kubeconfig() {
  local file="$1" cert="$2"
  local tmp="$file.tmp.$$"
  KUBECONFIG="$tmp" "$KUBECTL" config set-cluster fuseml-local --server="https://127.0.0.1:$PORT" \
    --certificate-authority="$PKI/ca.crt" --embed-certs=true >/dev/null
  KUBECONFIG="$tmp" "$KUBECTL" config set-credentials "$cert" --client-certificate="$PKI/$cert.crt" \
    --client-key="$PKI/$cert.key" --embed-certs=true >/dev/null
  KUBECONFIG="$tmp" "$KUBECTL" config set-context fuseml-local --cluster=fuseml-local --user="$cert" >/dev/null
  KUBECONFIG="$tmp" "$KUBECTL" config use-context fuseml-local >/dev/null
  chmod 600 "$tmp"
  mv "$tmp" "$file"
}

make_pki() {
  # Certificates are reused across restarts; regenerated when the port changes
  # (it is part of the kubeconfigs) or any file is missing.
  local stamp="v2 port=$PORT"
  if [[ -f "$PKI/.complete" && "$(cat "$PKI/.complete")" == "$stamp" ]]; then return; fi
  say "generating certificates in $PKI"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  (umask 077
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -subj "/CN=fuseml-local-ca" \
      -days 3650 -out "$PKI/ca.crt" 2>/dev/null
    # API server serving certificate.
    openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/apiserver.key" -subj "/CN=kube-apiserver" \
      -out "$PKI/apiserver.csr" 2>/dev/null
    cat >"$PKI/apiserver.ext" <<EOF
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
    openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
    rm -f "$PKI/apiserver.csr" "$PKI/apiserver.ext"
    # Service-account token signing key pair.
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    # Client identities: RBAC's bootstrap roles know these names.
    client_cert admin admin system:masters
    client_cert controller-manager system:kube-controller-manager
    client_cert scheduler system:kube-scheduler
    client_cert kwok kwok-controller system:masters
    # Front proxy (aggregated APIs): its own CA and the apiserver's client cert. Also
    # lets the controller-manager/scheduler find a request-header CA (no log noise).
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI/front-proxy-ca.key" -subj "/CN=fuseml-local-front-proxy-ca" \
      -days 3650 -out "$PKI/front-proxy-ca.crt" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/front-proxy-client.key" -subj "/CN=front-proxy-client" \
      -out "$PKI/front-proxy-client.csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$PKI/front-proxy-client.ext"
    openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" \
      -CAcreateserial -days 3650 -extfile "$PKI/front-proxy-client.ext" -out "$PKI/front-proxy-client.crt" 2>/dev/null
    rm -f "$PKI/front-proxy-client.csr" "$PKI/front-proxy-client.ext"
  )
  write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  write_kubeconfig "$STATE/kwok.kubeconfig" kwok
  echo "$stamp" >"$PKI/.complete"
}

# ---- commands ----------------------------------------------------------------

healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done
  [[ -f "$KUBECONFIG_FILE" ]] || return 1
  [[ "$(kc get --raw /readyz 2>/dev/null)" == "ok" ]]
}

fake_nodes() {
  local i
  for ((i = 0; i < NODES; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
EOF
  done
}

# start_apiserver BINDIR: kube-apiserver on $PORT, waited for until /readyz says ok.
start_apiserver() {
  local bin="$1"
  start kube-apiserver "$bin/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --allow-privileged=true \
    --endpoint-reconciler-type=none --profiling=false --v=1
  wait_for kube-apiserver 90 "$LOGS/kube-apiserver.log" \
    bash -c '[[ "$("$0" --kubeconfig "$1" --request-timeout=5s get --raw /readyz 2>/dev/null)" == ok ]]' "$KUBECTL" "$KUBECONFIG_FILE"
}

cmd_up() {
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  exec 9>"$STATE/.lock"
  flock 9
  KUBECTL="$(kubectl_bin)"
  if healthy; then
    say "already running and healthy (reusing it)"
    print_usage
    return 0
  fi
  if any_alive; then
    say "a partial or unhealthy cluster is running; restarting it"
    stop_all
  fi

  local tools_env
  tools_env="$("$ROOT/scripts/tools.sh" --print-env)" || die "scripts/tools.sh failed"
  eval "$tools_env"
  local bin="$FUSEML_KUBE_BIN_DIR"
  local p
  for p in "$PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" "$KCM_PORT" "$SCHED_PORT" "$KWOK_PORT"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is in use; set FUSEML_CLUSTER_PORT to another base (uses it and the next 5)"
  done

  local t0=$SECONDS
  make_pki
  write_kubeconfig "$KUBECONFIG_FILE" admin

  # A fresh cluster each cold start: no leftovers from an aborted run.
  rm -rf "$STATE/etcd"
  start etcd "$bin/etcd" --name fuseml-local --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "fuseml-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes=2147483648 --log-level=warn
  wait_for etcd 30 "$LOGS/etcd.log" port_busy "$ETCD_PORT" || { stop_all; exit 1; }

  start_apiserver "$bin" || { stop_all; exit 1; }

  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --concurrent-deployment-syncs=10 --concurrent-replicaset-syncs=10 \
    --profiling=false --v=1
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --leader-elect=false --profiling=false --v=1
  start kwok "$FUSEML_KWOK" \
    --kubeconfig="$STATE/kwok.kubeconfig" --config="$FUSEML_KWOK_STAGES" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.0/16 --node-ip=10.0.0.1 \
    --node-lease-duration-seconds=40 \
    --server-address="127.0.0.1:$KWOK_PORT"

  fake_nodes | kc apply -f - >/dev/null
  wait_for "fake nodes Ready" 60 "$LOGS/kwok.log" \
    kc wait --for=condition=Ready node --all --timeout=5s || { stop_all; exit 1; }
  # The controller-manager is working once it has made the default service account.
  wait_for "controller-manager (default service account)" 60 "$LOGS/kube-controller-manager.log" \
    kc -n default get serviceaccount default || { stop_all; exit 1; }
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || { say "$c exited; see $LOGS/$c.log"; tail -n 25 "$LOGS/$c.log" >&2; stop_all; exit 1; }; done
  say "up in $((SECONDS - t0))s"
  print_usage
}

print_usage() {
  cat <<EOF
cluster.sh: Kubernetes $(kc version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1) on https://127.0.0.1:$PORT (state: $STATE)
  export KUBECONFIG=$KUBECONFIG_FILE
  kubectl get nodes
EOF
}

# stop-apiserver / start-apiserver / restart-apiserver: only the API server (etcd and the data stay), so clients'
# connections and watches break and must resume (tests of the registry's Kubernetes store cache).
cmd_apiserver() {
  mkdir -p "$PIDS"
  exec 9>"$STATE/.lock"
  flock 9
  KUBECTL="$(kubectl_bin)"
  alive etcd || die "the cluster is not running (cluster.sh up)"
  # KILL: an abrupt end, as in a crash (a graceful one drains watches for up to a minute).
  if [[ "$1" != start ]]; then stop_one kube-apiserver KILL; say "kube-apiserver killed"; fi
  if [[ "$1" != stop ]]; then
    alive kube-apiserver && { say "kube-apiserver already running"; return 0; }
    local tools_env
    tools_env="$("$ROOT/scripts/tools.sh" --print-env)" || die "scripts/tools.sh failed"
    eval "$tools_env"
    start_apiserver "$FUSEML_KUBE_BIN_DIR" || exit 1
    say "kube-apiserver started"
  fi
}

cmd_down() {
  [[ -d "$STATE" ]] || { say "not running"; return 0; }
  mkdir -p "$PIDS"
  exec 9>"$STATE/.lock"
  flock 9
  if any_alive; then
    stop_all
    say "stopped"
  else
    rm -f "$PIDS"/*.pid
    say "not running"
  fi
}

cmd_status() {
  KUBECTL="$(kubectl_bin)"
  local c ok=0
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then echo "$c: running (pid $(pid_of "$c"))"; else echo "$c: stopped"; ok=1; fi
  done
  if ((ok == 0)) && healthy; then
    echo "apiserver: https://127.0.0.1:$PORT ready"
    echo "kubeconfig: $KUBECONFIG_FILE"
    kc get nodes --no-headers 2>/dev/null | sed 's/^/node: /'
    return 0
  fi
  return 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) echo "export KUBECONFIG='$KUBECONFIG_FILE'" ;;
  stop-apiserver) cmd_apiserver stop ;;
  start-apiserver) cmd_apiserver start ;;
  restart-apiserver) cmd_apiserver restart ;;
  *) echo "usage: $0 up|down|status|env|stop-apiserver|start-apiserver|restart-apiserver" >&2; exit 2 ;;
esac
exit
}
