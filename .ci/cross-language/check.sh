#!/usr/bin/env bash
# spec/vandar.yaml as a product for other languages, with pinned tools this script installs itself:
#   1. Redocly (recommended rules) and Spectral (oas) lint the spec: no errors allowed.
#   2. openapi-typescript generates TypeScript types; tsc --noEmit --strict checks them with check.ts.
#   3. openapi-python-client generates a Python client; mypy --strict checks it with flow.py.
#   4. flow.py runs end to end through that client against vandar-mock (started on a free port, killed by pid);
#      conformance.py checks every answer the mock sent against spec/hosts/ (0 mismatches allowed).
#   5. gen.mjs generates TypeScript from spec/hosts/*.yaml with Rials/Tomans branded; flow.ts (openapi-fetch) runs
#      against the same mock, its answers checked the same way; units_mismatch.ts must fail to compile.
# Usage: .ci/cross-language/check.sh [path/to/vandar-mock]   (default: build it with cargo)
# Run by .ci/run (CI=true, no stdin, fresh clone); needs node >= 20.19, npm and python3 >= 3.11.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
spec="$root/spec/vandar.yaml"
started=$SECONDS

# No telemetry or update checks from the tools (the machine reaches the package registries only).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false NO_UPDATE_NOTIFIER=1 \
  npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

work="$(mktemp -d)"
mock_pid=""
cleanup() {
  if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- install the pinned tools (npm ci, pip into a fresh venv)"
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null
bin="$here/node_modules/.bin"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
py="$work/venv/bin"

echo "-- lint: redocly (recommended) and spectral (oas), errors fail"
status=0
report="$("$bin/redocly" lint --extends recommended --format=summary "$spec" 2>&1)" || status=$?
grep -v "Node.js\|║\|╔\|╚\|^ *$" <<<"$report" || true
[[ $status -eq 0 ]] || { echo "redocly lint: errors (exit $status)"; exit 1; }
printf 'extends: ["spectral:oas"]\n' > "$work/spectral.yaml"
"$bin/spectral" lint --quiet --ruleset "$work/spectral.yaml" --fail-severity error "$spec"

echo "-- TypeScript: openapi-typescript, tsc --noEmit --strict"
mkdir "$work/ts"
"$bin/openapi-typescript" "$spec" --output "$work/ts/vandar.d.ts" >/dev/null
cp "$here/check.ts" "$here/tsconfig.json" "$work/ts/"
"$bin/tsc" -p "$work/ts"

echo "-- Python: openapi-python-client, mypy --strict"
mkdir "$work/py"
(cd "$work/py" && PATH="$py:$PATH" "$py/openapi-python-client" generate --path "$spec" --meta none --output-path vandar_client >/dev/null)
cp "$here/flow.py" "$work/py/"
(cd "$work/py" && "$py/mypy" --strict --no-incremental vandar_client flow.py)
# The Python units recipe: Rials passed as Tomans must fail mypy --strict, with that error and no other.
cp "$here/units_mismatch.py" "$work/py/"
units_status=0
units="$(cd "$work/py" && "$py/mypy" --strict --no-incremental units_mismatch.py 2>&1)" || units_status=$?
if [[ $units_status -eq 0 ]] || ! grep -q 'units_mismatch.py:23: error: Argument 1 to "pay_out" has incompatible type "Rials"; expected "Tomans"' <<<"$units" || [[ $(grep -c ": error:" <<<"$units") -ne 1 ]]; then
  echo "units_mismatch.py: expected exactly one error (Rials where Tomans are expected), got (exit $units_status):"; echo "$units"; exit 1
fi
echo "  ok units_mismatch.py fails mypy --strict: Rials where Tomans are expected"

echo "-- Python client end to end against vandar-mock"
mock="${1:-}"
if [[ -z "$mock" ]]; then
  cargo build --quiet --manifest-path "$root/Cargo.toml" --features mock --bin vandar-mock
  mock="${CARGO_TARGET_DIR:-$root/target}/debug/vandar-mock"
fi
"$mock" --port 0 > "$work/mock.json" 2> "$work/mock.err" &
mock_pid=$!
for _ in $(seq 100); do [[ -s "$work/mock.json" ]] && break; sleep 0.1; done
[[ -s "$work/mock.json" ]] || { echo "vandar-mock did not start:"; cat "$work/mock.err"; exit 1; }
(cd "$work/py" && "$py/python" flow.py "$(head -n 1 "$work/mock.json")")
control="$("$py/python" -c 'import json,sys; print(json.loads(sys.stdin.readline())["control"])' < "$work/mock.json")"

echo "-- conformance: every answer the mock sent is checked against spec/hosts/ (operation, status, schema)"
"$py/python" "$here/conformance.py" "$root/spec/hosts" "$control" "Python flow"

echo "-- TypeScript: types from spec/hosts/*.yaml (gen.mjs, units branded), openapi-fetch flow.ts against the same mock"
mkdir "$work/tsflow"
(cd "$here" && node gen.mjs "$root/spec/hosts" "$work/tsflow/gen")
cp "$here/flow.ts" "$here/tsconfig.flow.json" "$here/units_mismatch.ts" "$here/tsconfig.units.json" "$work/tsflow/"
ln -s "$here/node_modules" "$work/tsflow/node_modules"
printf '{"type": "module"}\n' > "$work/tsflow/package.json"
"$bin/tsc" -p "$work/tsflow/tsconfig.flow.json"
# The units recipe: Rials passed as Tomans must fail to compile, with that error and no other.
units_status=0
units="$("$bin/tsc" -p "$work/tsflow/tsconfig.units.json" 2>&1)" || units_status=$?
if [[ $units_status -eq 0 ]] || ! grep -q "units_mismatch.ts(8,.*TS2322.*'Rials' is not assignable to type 'Tomans'" <<<"$units" || [[ $(grep -c "error TS" <<<"$units") -ne 1 ]]; then
  echo "units_mismatch.ts: expected exactly one TS2322 (Rials is not assignable to Tomans), got (exit $units_status):"; echo "$units"; exit 1
fi
echo "  ok units_mismatch.ts fails to compile: Rials is not assignable to Tomans"
"$py/python" -c "import httpx, sys; httpx.delete(sys.argv[1]).raise_for_status()" "$control/answers"
(cd "$work/tsflow" && node out/flow.js "$(head -n 1 "$work/mock.json")")
"$py/python" "$here/conformance.py" "$root/spec/hosts" "$control" "TypeScript flow"
kill "$mock_pid"; wait "$mock_pid" 2>/dev/null || true; mock_pid=""

echo "-- cross-language checks took $((SECONDS - started)) s"
