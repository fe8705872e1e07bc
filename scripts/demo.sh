#!/usr/bin/env bash
# The FuseML extensions demo (npm run demo), on a fresh machine after `npm ci`:
#   1. builds the CLIs, and the tools once (scripts/tools.sh: kube control plane, kwok, helm; cached);
#   2. starts a local control plane of its own (scripts/cluster.sh with a private state dir and port);
#   3. starts an embedded registry (fuseml-registry serve, temp SQLite db, a random admin token);
#   4. serves the stand-in upstream charts from a loopback chart repository (no network needed)
#      and passes --chart-mirror for the upstream repositories;
#   5. fuseml-installer install --extensions mlflow,seldon
#   6. fuseml extension list
#   7. fuseml workflow resolve examples/workflow.yaml
#   8. fuseml workflow run … --engine job --step train: the trainer step's Job; prints its Pod's env
#      names and their sources (binding Secret and key; values masked) and the binding mounts
#   9. fuseml-installer uninstall, then shows the registry empty;
# and stops / removes everything it started, also on failure or Ctrl-C.
#
# Environment (optional): FUSEML_CACHE_DIR (tools cache, default ~/.cache/fuseml),
# FUSEML_DEMO_CLUSTER_PORT (apiserver port of the demo cluster, default 46443; it uses the next five too),
# FUSEML_DEMO_KEEP=1 (leave the cluster and registry running at the end, printing how to stop them),
# FUSEML_DEMO_NO_BUILD=1 (use the existing dist/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE="${FUSEML_CACHE_DIR:-$HOME/.cache/fuseml}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fuseml-demo.XXXXXX")"
export FUSEML_CLUSTER_DIR="$WORK/cluster"
export FUSEML_CLUSTER_PORT="${FUSEML_DEMO_CLUSTER_PORT:-46443}"
REGISTRY_PID=""
CHARTS_PID=""
CLUSTER_STARTED=0

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf 'demo: %s\n' "$*" >&2; }
# show CMD...: print the command, then run it.
show() { printf '\033[36m$ %s\033[0m\n' "$*"; "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "${FUSEML_DEMO_KEEP:-0}" == 1 && $rc == 0 ]]; then
    say "kept: registry pid $REGISTRY_PID, chart repo pid $CHARTS_PID, cluster state $FUSEML_CLUSTER_DIR"
    say "stop with: kill $REGISTRY_PID $CHARTS_PID; FUSEML_CLUSTER_DIR=$FUSEML_CLUSTER_DIR FUSEML_CLUSTER_PORT=$FUSEML_CLUSTER_PORT scripts/cluster.sh down; rm -rf $WORK"
    exit $rc
  fi
  bold "cleaning up"
  for pid in $REGISTRY_PID $CHARTS_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $REGISTRY_PID $CHARTS_PID; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $CLUSTER_STARTED == 1 ]]; then scripts/cluster.sh down || true; fi
  rm -rf "$WORK"
  say "done (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_line FILE REGEX SECONDS: prints the first match of REGEX in FILE, waiting for it.
wait_line() {
  local file="$1" re="$2" secs="$3" i line
  for ((i = 0; i < secs * 10; i++)); do
    line="$(grep -m1 -oE "$re" "$file" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then echo "$line"; return 0; fi
    sleep 0.1
  done
  return 1
}

bold "building the CLIs and the tools (cached after the first run)"
[[ -d node_modules ]] || { say "run npm ci first"; exit 1; }
# FUSEML_DEMO_NO_BUILD=1 reuses dist/ (the e2e test: other tests run the CLIs at the same time).
if [[ "${FUSEML_DEMO_NO_BUILD:-0}" != 1 || ! -f dist/cli/bin/fuseml-installer.js ]]; then npm run --silent build; fi
eval "$(scripts/tools.sh --print-env)"
export FUSEML_HELM
FUSEML="node $ROOT/dist/cli/bin/fuseml.js"
INSTALLER="node $ROOT/dist/cli/bin/fuseml-installer.js"

bold "starting a local control plane (fake kwok nodes: pods are marked Running, containers never run)"
CLUSTER_STARTED=1
scripts/cluster.sh up
export KUBECONFIG="$FUSEML_CLUSTER_DIR/kubeconfig"
KUBECTL="${FUSEML_KUBECTL:-kubectl}"
# No storage provisioner on this control plane: provide PersistentVolumes, as an administrator would.
for i in 1 2 3; do
  cat <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: demo-pv-$i
  labels: {app.kubernetes.io/part-of: fuseml-demo}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/fuseml-demo-pv-$i}
---
EOF
done | "$KUBECTL" apply -f - >/dev/null
say "3 PersistentVolumes created"

bold "starting an embedded registry (temp SQLite db)"
FUSEML_REGISTRY_TOKEN="$(node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))')"
export FUSEML_REGISTRY_TOKEN FUSEML_TOKEN="$FUSEML_REGISTRY_TOKEN"
FUSEML_REGISTRY_ADMIN_TOKEN="$FUSEML_REGISTRY_TOKEN" node dist/cli/bin/fuseml-registry.js serve --port 0 \
  --db "$WORK/registry.db" --key-file "$WORK/registry.key" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
REGISTRY_URL="$(wait_line "$WORK/registry.log" 'http://127\.0\.0\.1:[0-9]+' 30)" || { cat "$WORK/registry.log" >&2; exit 1; }
export FUSEML_REGISTRY_URL="$REGISTRY_URL" FUSEML_SERVER_URL="$REGISTRY_URL"
say "registry at $REGISTRY_URL"

bold "serving the stand-in upstream charts from a loopback chart repository"
mkdir -p "$WORK/charts"
for c in test/fixtures/charts/upstream/*/; do "$FUSEML_HELM" package "$c" -d "$WORK/charts" >/dev/null; done
cat >"$WORK/serve-charts.mjs" <<'EOF'
// A static file server on 127.0.0.1 (any free port) for a helm chart repository folder.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
const dir = process.argv[2];
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  try {
    const body = await readFile(join(dir, path));
    res.writeHead(200, { 'content-type': path.endsWith('.yaml') ? 'application/yaml' : 'application/gzip' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`charts at http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
EOF
node "$WORK/serve-charts.mjs" "$WORK/charts" >"$WORK/charts.log" 2>&1 &
CHARTS_PID=$!
CHARTS_URL="$(wait_line "$WORK/charts.log" 'http://127\.0\.0\.1:[0-9]+' 10)" || { cat "$WORK/charts.log" >&2; exit 1; }
"$FUSEML_HELM" repo index "$WORK/charts" --url "$CHARTS_URL"
ls "$WORK/charts"
MIRRORS=(--chart-mirror "https://storage.googleapis.com/seldon-charts=$CHARTS_URL" --chart-mirror "oci://ghcr.io/kserve/charts=$CHARTS_URL")

bold "installing mlflow and seldon"
show $INSTALLER install --extensions mlflow,seldon "${MIRRORS[@]}"
"$KUBECTL" get deployments -A -l 'app.kubernetes.io/part-of=fuseml' 2>/dev/null || true
"$KUBECTL" get deployment -n seldon-system seldon-controller-manager 2>/dev/null || true

bold "what the registry now holds"
show $FUSEML extension list

bold "resolving the sample workflow's step requirements"
show $FUSEML workflow resolve examples/workflow.yaml --project demo

bold "running the trainer step: a Kubernetes Job whose env arrives by reference from the binding Secrets"
"$KUBECTL" create namespace demo-workflows >/dev/null
show $FUSEML workflow run examples/workflow.yaml --project demo --engine job --step train -n demo-workflows \
  --input codeset=mlflow-project --kubeconfig "$KUBECONFIG"
# The Job controller makes the Pod, kwok marks it Running, then Succeeded (the container never runs here).
POD=""
for ((i = 0; i < 120; i++)); do
  line="$("$KUBECTL" get pods -n demo-workflows -l fuseml.io/step=train -o jsonpath='{.items[0].metadata.name} {.items[0].status.phase}' 2>/dev/null || true)"
  if [[ "$line" =~ ^([^ ]+)\ (Running|Succeeded)$ ]]; then POD="${BASH_REMATCH[1]}"; break; fi
  sleep 1
done
[[ -n "$POD" ]] || { say "the trainer Pod did not start"; "$KUBECTL" get jobs,pods -n demo-workflows >&2; exit 1; }
say "trainer Pod $POD: env names and where their values come from (values masked)"
"$KUBECTL" get pod "$POD" -n demo-workflows -o json | node -e '
  const pod = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const c = pod.spec.containers[0];
  const rows = c.env.map((e) => {
    const ref = e.valueFrom && e.valueFrom.secretKeyRef;
    const field = e.valueFrom && e.valueFrom.fieldRef;
    const from = ref ? `secret ${ref.name} key ${ref.key}` : field ? `field ${field.fieldPath}` : "value (literal, masked)";
    return [e.name, from, "****"];
  });
  const w = Math.max(...rows.map((r) => r[0].length), 4);
  console.log("ENV".padEnd(w) + "  SOURCE");
  for (const r of rows) console.log(r[0].padEnd(w) + "  " + r[1] + "  = " + r[2]);
  console.log("\nbinding mounts ($SERVICE_BINDING_ROOT):");
  for (const m of c.volumeMounts) {
    const v = pod.spec.volumes.find((x) => x.name === m.name);
    if (v && v.secret) console.log(`  ${m.mountPath}  <- secret ${v.secret.secretName}`);
  }'

bold "uninstalling"
show $INSTALLER uninstall --all --yes

bold "the registry is empty again"
show $FUSEML extension list
"$KUBECTL" get namespaces
