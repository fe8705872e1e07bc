#!/usr/bin/env bash
# Fetches Argo Workflows' CustomResourceDefinitions — manifests only: no Argo code is
# built or run — from the Go module proxy into the Go module cache (go mod download,
# checked against sum.golang.org and the pinned hash below), and prints the directory
# of the full CRDs (OpenAPI schemas, so the API server validates Workflows against them).
# Cached: a second run downloads nothing. The CRDs are not committed (2.6 MB for workflows).
#
#   scripts/argo-crds.sh            -> prints e.g. ~/go/pkg/mod/github.com/argoproj/argo-workflows/v4@v4.0.5/manifests/base/crds/full
#
# Environment: FUSEML_GO (default: go). The full CRDs must be installed with server-side
# apply (kubectl apply --server-side): they exceed the client-side apply annotation limit.
set -euo pipefail
MODULE=github.com/argoproj/argo-workflows/v4
VERSION=v4.0.5
# go.sum line of the module zip (as recorded by sum.golang.org).
SUM='h1:/1lru5oXUd+k6KEDUps6rLX5OKfi1jTfabgXTly/VFU='
GO="${FUSEML_GO:-go}"
command -v "$GO" >/dev/null || { echo "argo-crds.sh: $GO not found (needed for: go mod download $MODULE@$VERSION)" >&2; exit 1; }
# Outside any module, so no go.mod is read or written.
cd "$(mktemp -d)"
trap 'rmdir "$PWD" 2>/dev/null || true' EXIT
json="$(GOFLAGS=-mod=mod "$GO" mod download -json "$MODULE@$VERSION")" || { echo "argo-crds.sh: go mod download $MODULE@$VERSION failed: $json" >&2; exit 1; }
dir="$(node -e '
  const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (j.Error) { console.error("argo-crds.sh: " + j.Error); process.exit(1); }
  if (j.Sum !== process.argv[1]) { console.error("argo-crds.sh: " + j.Path + "@" + j.Version + " has hash " + j.Sum + ", expected " + process.argv[1]); process.exit(1); }
  process.stdout.write(j.Dir);
' "$SUM" <<<"$json")"
crds="$dir/manifests/base/crds/full"
[[ -f "$crds/argoproj.io_workflows.yaml" ]] || { echo "argo-crds.sh: $crds/argoproj.io_workflows.yaml missing" >&2; exit 1; }
echo "$crds"
