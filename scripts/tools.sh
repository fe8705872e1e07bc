#!/usr/bin/env bash
# Builds (once) and caches the tools the e2e tests and the demo need, outside the
# repository, keyed by version:
#   $FUSEML_CACHE_DIR/kube/<k8s version>/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler}
#   $FUSEML_CACHE_DIR/kwok/<kwok version>/kwok
#   $FUSEML_CACHE_DIR/helm/<helm version>/helm
#   $FUSEML_CACHE_DIR/kube/<k8s version>-kubectl/kubectl   (only when no kubectl is on PATH)
# Everything comes from the Go module proxy (hack/kube-tools pins k8s.io/kubernetes).
# Each set is built into a temporary directory and renamed into place only when
# complete, under a lock, so a killed build never leaves a half binary behind.
#
# Usage: scripts/tools.sh [--print-env]
#   --print-env  only print FUSEML_* variables (for eval), building what is missing first.
set -euo pipefail
# The whole script is one brace group: bash parses it completely before running it, so
# editing (or git-updating) this file while it runs cannot change what runs.
{

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FUSEML_CACHE_DIR:-$HOME/.cache/fuseml}"
KWOK_VERSION="${FUSEML_KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${FUSEML_HELM_VERSION:-v3.22.0}"
# The Kubernetes version is the one hack/kube-tools/go.mod pins.
KUBE_VERSION="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$ROOT/hack/kube-tools/go.mod")"
[[ -n "$KUBE_VERSION" ]] || { echo "tools.sh: cannot read the k8s.io/kubernetes version from hack/kube-tools/go.mod" >&2; exit 1; }

PRINT_ENV=0
[[ "${1:-}" == "--print-env" ]] && PRINT_ENV=1

log() { if [[ $PRINT_ENV == 0 ]]; then echo "tools.sh: $*"; else echo "tools.sh: $*" >&2; fi; }

command -v go >/dev/null || { echo "tools.sh: go is required (Go >= 1.26)" >&2; exit 1; }

mkdir -p "$CACHE"
# One builder at a time (a second caller waits, then finds the tools present).
exec 9>"$CACHE/.tools.lock"
flock 9
# Leftovers of a killed build (never trusted: only a finished build is renamed into place).
rm -rf "$CACHE"/kube/.build.* "$CACHE"/kwok/.build.* "$CACHE"/helm/.build.*

KUBE_DIR="$CACHE/kube/$KUBE_VERSION"
KWOK_DIR="$CACHE/kwok/$KWOK_VERSION"
HELM_DIR="$CACHE/helm/$HELM_VERSION"

# complete DIR FILE... : true when DIR holds every FILE, non-empty (the directory is
# only ever created by an atomic rename of a finished build).
complete() {
  local dir="$1"; shift
  [[ -f "$dir/.complete" ]] || return 1
  local b
  for b in "$@"; do [[ -s "$dir/$b" ]] || return 1; done
}

# install_dir TMP FINAL : move a finished build into place atomically.
install_dir() {
  local tmp="$1" final="$2"
  chmod 755 "$tmp"
  date -u +%FT%TZ >"$tmp/.complete"
  mkdir -p "$(dirname "$final")"
  if [[ -e "$final" ]]; then
    # An incomplete or older layout: set it aside, then swap.
    mv "$final" "$final.old.$$"
    rm -rf "$final.old.$$"
  fi
  mv "$tmp" "$final"
}

timed() {
  local what="$1"; shift
  local t0=$SECONDS
  "$@"
  log "$what built in $((SECONDS - t0))s"
}

build_kube() {
  local tmp
  tmp="$(mktemp -d "$CACHE/kube/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  local pkg=k8s.io/component-base/version
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  # The version ldflags matter: helm checks a chart's kubeVersion against the server's.
  local ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  log "building etcd + kube-apiserver/controller-manager/scheduler $KUBE_VERSION (first time: ~7 min on 2 cores)"
  (cd "$ROOT/hack/kube-tools" && go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    go.etcd.io/etcd/server/v3)
  mv "$tmp/server" "$tmp/etcd"   # etcd's main package is named "server"
  install_dir "$tmp" "$KUBE_DIR"
  trap - RETURN
}

# kwok needs Stage objects (how a fake node / pod moves through its lifecycle). The
# kwok module ships them as data; take the "fast" node + lease heartbeat + pod sets
# of the same version from the module cache.
kwok_stages() {
  local dir f
  dir="$(cd "${TMPDIR:-/tmp}" && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -d "$dir/kustomize/stage" ]] || { echo "tools.sh: kwok stages not found in the module cache ($dir)" >&2; return 1; }
  for f in "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
           "$dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           "$dir"/kustomize/stage/pod/fast/pod-ready.yaml \
           "$dir"/kustomize/stage/pod/fast/pod-complete.yaml \
           "$dir"/kustomize/stage/pod/fast/pod-delete.yaml; do
    echo "---"; cat "$f"
  done
}

build_kwok() {
  local tmp
  mkdir -p "$CACHE/kwok"
  tmp="$(mktemp -d "$CACHE/kwok/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  log "building kwok $KWOK_VERSION"
  # kwok's go.mod has no replace directives, so `go install …@version` works as is.
  GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" go install -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  kwok_stages >"$tmp/stages.yaml"
  install_dir "$tmp" "$KWOK_DIR"
  trap - RETURN
}

build_helm() {
  local tmp
  mkdir -p "$CACHE/helm"
  tmp="$(mktemp -d "$CACHE/helm/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  log "building helm $HELM_VERSION"
  GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" go install \
    -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  install_dir "$tmp" "$HELM_DIR"
  trap - RETURN
}

# kubectl: the one given (FUSEML_KUBECTL) or on PATH; built from hack/kubectl-tools
# (same pins as the control plane) only when there is none, or FUSEML_BUILD_KUBECTL=1.
KUBECTL_DIR="$CACHE/kube/$KUBE_VERSION-kubectl"
build_kubectl() {
  local tmp
  tmp="$(mktemp -d "$CACHE/kube/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  local ldflags="-s -w" pkg minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  log "building kubectl $KUBE_VERSION (no kubectl on PATH)"
  (cd "$ROOT/hack/kubectl-tools" && go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl)
  install_dir "$tmp" "$KUBECTL_DIR"
  trap - RETURN
}
KUBECTL="${FUSEML_KUBECTL:-}"
if [[ -z "$KUBECTL" && "${FUSEML_BUILD_KUBECTL:-0}" != 1 ]]; then KUBECTL="$(command -v kubectl || true)"; fi

mkdir -p "$CACHE/kube"
if [[ -z "$KUBECTL" ]]; then
  complete "$KUBECTL_DIR" kubectl || timed kubectl build_kubectl
  KUBECTL="$KUBECTL_DIR/kubectl"
fi
complete "$KUBE_DIR" etcd kube-apiserver kube-controller-manager kube-scheduler || timed "control plane" build_kube
complete "$KWOK_DIR" kwok stages.yaml || timed kwok build_kwok
complete "$HELM_DIR" helm || timed helm build_helm

if [[ $PRINT_ENV == 1 ]]; then
  echo "export FUSEML_KUBE_BIN_DIR='$KUBE_DIR'"
  echo "export FUSEML_KWOK='$KWOK_DIR/kwok'"
  echo "export FUSEML_KWOK_STAGES='$KWOK_DIR/stages.yaml'"
  echo "export FUSEML_HELM='$HELM_DIR/helm'"
  echo "export FUSEML_KUBECTL='$KUBECTL'"
else
  log "kubectl:       $KUBECTL"
  log "control plane: $KUBE_DIR"
  log "kwok:          $KWOK_DIR/kwok"
  log "helm:          $HELM_DIR/helm"
  log "to use helm:   export FUSEML_HELM='$HELM_DIR/helm'   (or: eval \"\$(scripts/tools.sh --print-env)\")"
fi
exit
}
