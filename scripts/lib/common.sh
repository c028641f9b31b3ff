# Sourced by the scripts in scripts/: one place that knows how to install the pinned tools.
# Each ensure_* step is idempotent and cheap when nothing changed, so every entry point can call it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$ROOT/node_modules/.bin:$PATH"
export CARGO_INCREMENTAL=0

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Runs "${@:2}" and logs how long it took under the title $1 (`timed "Lambda zips built" build_lambdas`).
timed() {
  local title="$1" started ms
  shift
  started=$(date +%s%N)
  "$@"
  ms=$(( ($(date +%s%N) - started) / 1000000 ))
  log "$title ($((ms / 1000)).$((ms % 1000 / 100)) s)"
}

# The pinned Python tools (MiniStack, fakesnow, checkov, cargo-lambda, Zig, pytest).
ensure_venv() {
  local stamp="$VENV/.requirements-dev.txt"
  if [ -x "$VENV/bin/python" ] && cmp -s "$ROOT/requirements-dev.txt" "$stamp"; then return; fi
  log "installing Python tools into .venv"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
  cp "$ROOT/requirements-dev.txt" "$stamp"
}

# newman, pinned by package-lock.json.
ensure_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/package-lock.json" ]; then return; fi
  log "installing newman (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
}

# Both Lambdas as provided.al2023 bootstrap zips for this machine's architecture
# (target/lambda/<name>/bootstrap.zip); the validator zip carries schemas/.
build_lambdas() {
  ensure_venv
  log "building the Lambdas (cargo lambda build --release)"
  (cd "$ROOT" && cargo lambda build --release --output-format zip --compiler cargo \
      --bin transformer && \
    cargo lambda build --release --output-format zip --compiler cargo \
      --bin validator --include schemas)
}
