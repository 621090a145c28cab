#!/usr/bin/env bash
# Tools of the observability tests (docs/observability.md): Debian's chromium (the UI's browser
# test, sandbox/uitest) and prometheus (the --prometheus path and the sandbox's Prometheus).
#
#   scripts/observability.sh prepare   before `make test`: under CI=true (or
#                                       WASMESH_INSTALL_OBSERVABILITY=1) install what is missing
#                                       with apt-get (once: later runs find them on PATH);
#                                       otherwise say what is missing. The tests that need them
#                                       fail under CI=true and skip, saying why, elsewhere.
set -euo pipefail

say() { echo "observability: $*" >&2; }

want_install() { [ "${CI:-}" = true ] || [ "${WASMESH_INSTALL_OBSERVABILITY:-}" = 1 ]; }

missing() {
  local pkgs=()
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || pkgs+=(chromium)
  command -v prometheus >/dev/null || pkgs+=(prometheus)
  echo "${pkgs[@]:-}"
}

cmd_prepare() {
  local pkgs
  pkgs=$(missing)
  [ -z "$pkgs" ] && return 0
  if ! want_install; then
    say "not installed: $pkgs (the UI browser test and the Prometheus tests skip; Debian: apt-get install $pkgs, or WASMESH_INSTALL_OBSERVABILITY=1 make test)"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "need $pkgs and cannot install them (root and apt-get required): install them, or the tests that need them fail under CI=true"
    return 0
  fi
  say "installing Debian's $pkgs (apt-get, once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >&2
}

case "${1:-}" in
  prepare) cmd_prepare ;;
  *) echo "usage: $0 prepare" >&2; exit 2 ;;
esac
