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

# The Terraform providers' schemas for tests/terraform/provider_check.py: the pinned
# cdktn-provider-* wheels (tests/terraform/provider_schema.py PINS), downloaded once with
# `pip download --no-deps` and extracted into .cache/provider-schemas/ (keyed by package version).
ensure_provider_schemas() {
  ensure_venv
  "$VENV/bin/python" "$ROOT/tests/terraform/provider_schema.py" ensure
}

# newman, pinned by package-lock.json.
ensure_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/package-lock.json" ]; then return; fi
  log "installing newman (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
}

# cargo-fuzz, pinned, for scripts/fuzz: built from crates.io into .cache/cargo-tools (gitignored)
# when missing or of another version. It drives libFuzzer through the nightly toolchain
# (`cargo +nightly fuzz`), which rustup installs when the machine lacks it.
CARGO_FUZZ_VERSION=0.13.2
CARGO_TOOLS="$ROOT/.cache/cargo-tools"
ensure_cargo_fuzz() {
  export PATH="$CARGO_TOOLS/bin:$PATH"
  rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
  if [[ "$(cargo-fuzz --version 2>/dev/null)" == "cargo-fuzz $CARGO_FUZZ_VERSION"* ]]; then return; fi
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into .cache/cargo-tools"
  cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$CARGO_TOOLS"
}

# Both Lambdas as provided.al2023 zips, target/lambda/<name>/bootstrap.zip; the validator's
# carries schemas/. The one place that builds them, for the local stack and the deploy workflow.
#   build_lambdas           this machine's architecture, plain cargo (the local stack)
#   build_lambdas --arm64   aarch64 through cargo-lambda's Zig linker (what AWS runs, deploy.yml)
# cargo lambda builds the bootstrap binaries; scripts/package-lambda zips them reproducibly
# (fixed timestamps, modes and order), so unchanged code gives a byte-identical zip and an
# unchanged Lambda never shows up in a plan (the lambda_function module hashes the zip).
build_lambdas() {
  local target=(--compiler cargo) name
  case "${1:-}" in
    "") ;;
    --arm64) target=(--arm64) ;;
    *) echo "build_lambdas: unknown option ${1} (none, or --arm64)" >&2; return 2 ;;
  esac
  # cargo-lambda and Zig as pinned in requirements-dev.txt: the workflow installs just those
  # two; everywhere else the venv has them.
  local pinned
  pinned="$(sed -n 's/^cargo-lambda==//p' "$ROOT/requirements-dev.txt")"
  if [[ "$(cargo-lambda lambda --version 2>/dev/null)" != "cargo-lambda $pinned "* ]]; then
    ensure_venv
  fi
  # --locked: the dependencies of Cargo.lock, as reviewed; a Cargo.lock that doesn't match
  # Cargo.toml fails the build instead of being re-resolved.
  log "building the Lambdas (cargo lambda build --release --locked ${target[*]})"
  for name in transformer validator; do
    (cd "$ROOT" && cargo lambda build --release --locked --output-format binary "${target[@]}" --bin "$name")
  done
  python3 "$ROOT/scripts/package-lambda" "$ROOT/target/lambda/transformer/bootstrap.zip" \
    "bootstrap=$ROOT/target/lambda/transformer/bootstrap"
  # The validator reads its JSON Schemas from /var/task/schemas.
  python3 "$ROOT/scripts/package-lambda" "$ROOT/target/lambda/validator/bootstrap.zip" \
    "bootstrap=$ROOT/target/lambda/validator/bootstrap" "schemas=$ROOT/schemas"
}
