#!/usr/bin/env bash
# Runs schemathesis (pinned, from PyPI, in a virtualenv cached outside the repository) against a running
# fuseml-registry: every operation of its served OpenAPI document, every check, a bounded number of examples,
# a fixed seed. Exit status: schemathesis' (0: no failure).
#
# Usage: FUSEML_SCHEMATHESIS_TOKEN=<admin token> scripts/schemathesis.sh http://127.0.0.1:PORT [extra st run args]
# Env:   FUSEML_SCHEMATHESIS_EXAMPLES (default 10 per operation), FUSEML_SCHEMATHESIS_SEED (default 1),
#        FUSEML_CACHE_DIR (default ~/.cache/fuseml): the venv is $FUSEML_CACHE_DIR/schemathesis/venv-<version>,
#        built in a temporary directory and renamed into place only when pip succeeded.
set -euo pipefail
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=4.32.5
CACHE="${FUSEML_CACHE_DIR:-$HOME/.cache/fuseml}"
VENV="$CACHE/schemathesis/venv-$VERSION"

url="${1:?usage: scripts/schemathesis.sh URL [st run args]}"
shift
[[ -n "${FUSEML_SCHEMATHESIS_TOKEN:-}" ]] || { echo "schemathesis.sh: set FUSEML_SCHEMATHESIS_TOKEN to an admin token" >&2; exit 2; }

mkdir -p "$CACHE/schemathesis"
exec 9>"$CACHE/schemathesis/.lock"
flock 9
if [[ ! -f "$VENV/.complete" ]]; then
  echo "schemathesis.sh: installing schemathesis $VERSION into $VENV" >&2
  tmp="$(mktemp -d "$CACHE/schemathesis/.build.XXXXXX")"
  python3 -m venv "$tmp"
  "$tmp/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
  rm -rf "$VENV"
  mv "$tmp" "$VENV"
  # The venv's scripts name the interpreter by the temporary path: run them through the python instead.
  date -u +%FT%TZ > "$VENV/.complete"
fi
flock -u 9

export PYTHONDONTWRITEBYTECODE=1
report="$(mktemp -d)"
trap 'rm -rf "$report"' EXIT
cd "$report"
exec "$VENV/bin/python" -m schemathesis.cli --config-file "$ROOT/scripts/schemathesis.toml" run "$url/openapi.json" \
  --checks all \
  --max-examples "${FUSEML_SCHEMATHESIS_EXAMPLES:-10}" \
  --seed "${FUSEML_SCHEMATHESIS_SEED:-1}" \
  --workers 2 \
  --no-color \
  --request-timeout 30 \
  "$@"
}
