#!/usr/bin/env bash
# Docker for the compose sandbox (docs/sandbox.md, sandbox/docker-compose.yaml): the engine,
# Docker Compose v2, and the offline images' build contexts. Progress goes to stderr.
#
#   scripts/docker.sh up       make a Docker engine reachable: use a running one; else start
#                              dockerd (root only) and record it in .tools/dockerd/pid; install
#                              Debian's docker.io first when it is missing and CI=true or
#                              WASMESH_INSTALL_DOCKER=1. Prints "started <pid>" when it started
#                              dockerd, "running" when one was already up.
#   scripts/docker.sh down     stop the dockerd that `up` started (nothing else).
#   scripts/docker.sh compose  print the Docker Compose v2 command: `docker compose` when the
#                              plugin is installed, else .tools/bin/docker-compose, built once
#                              from the Go module proxy (about 3 minutes).
#   scripts/docker.sh prepare  before `make test` runs the tests: under CI=true install docker.io
#                              when missing; build Compose (as `compose`) when Docker is installed.
#   scripts/docker.sh stage    write the offline images' build contexts into build/docker/
#                              (sandbox: static wasmesh + demo + filters; envoy: stock Envoy with
#                              the libraries ldd lists), for sandbox/docker-compose.offline.yaml
#                              (the Dockerfiles stay in sandbox/compose/offline/).
#
# Exit status 3 means "no Docker here" (not an error in the script): the message says what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
compose_version=v2.40.3
state=.tools/dockerd

say() { echo "docker: $*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

want_install() { [ "${CI:-}" = true ] || [ "${WASMESH_INSTALL_DOCKER:-}" = 1 ]; }

install_docker() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || {
    say "no Docker engine, and installing one needs root and apt-get (Debian's docker.io)"; exit 3; }
  say "installing Debian's docker.io (apt-get, once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends docker.io >&2
}

no_docker() {
  say "no Docker engine found (no dockerd, and \`docker info\` fails): install Docker (Debian: apt-get install docker.io), or let this script do it with WASMESH_INSTALL_DOCKER=1"
  exit 3
}

cmd_up() {
  if command -v docker >/dev/null && engine_up; then echo running; return; fi
  if ! command -v dockerd >/dev/null; then
    want_install || no_docker
    install_docker
    # The docker.io package may start its own service; use it when it did.
    if engine_up; then echo running; return; fi
  fi
  if [ "$(id -u)" != 0 ]; then
    say "the Docker engine is not running and only root can start it here: start it (sudo systemctl start docker) or add yourself to the docker group"
    exit 3
  fi
  mkdir -p "$state"
  say "starting dockerd (log: $state/dockerd.log)"
  # setsid: dockerd outlives this script (and `go test`'s process group) until `down`.
  setsid dockerd >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  for _ in $(seq 120); do
    if engine_up; then echo "started $(cat "$state/pid")"; return; fi
    kill -0 "$(cat "$state/pid")" 2>/dev/null || { say "dockerd exited; its log:"; tail -20 "$state/dockerd.log" >&2; rm -f "$state/pid"; exit 1; }
    sleep 0.5
  done
  say "dockerd did not answer within 60s; its log: $state/dockerd.log"
  exit 1
}

cmd_down() {
  [ -f "$state/pid" ] || return 0
  pid=$(cat "$state/pid")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping dockerd $pid (started by scripts/docker.sh up)"
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "dockerd $pid still running after 30s; killing it"; kill -KILL "$pid"; }
  fi
  rm -f "$state/pid"
}

cmd_compose() {
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; return; fi
  bin=$root/.tools/bin/docker-compose
  if [ ! -x "$bin" ] || [ "$("$bin" version --short 2>/dev/null)" != "${compose_version#v}" ]; then
    say "building Docker Compose $compose_version from the Go module proxy into .tools/bin (about 3 minutes, once)"
    src=.tools/compose-src
    rm -rf "$src" && mkdir -p "$src" .tools/bin
    # `go install …@$compose_version` refuses modules whose go.mod has exclude directives, so
    # build it from a wrapper module that carries compose's own excludes.
    mod=$(go mod download -json "github.com/docker/compose/v2@$compose_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
    [ -f "$mod" ] || { say "could not download github.com/docker/compose/v2@$compose_version from the module proxy"; exit 1; }
    {
      echo "module wasmesh.local/compose"
      echo
      sed -n 's/^go \(.*\)$/go \1/p' "$mod"
      echo
      echo "require github.com/docker/compose/v2 $compose_version"
      echo
      sed -n '/^exclude (/,/^)/p' "$mod"
    } >"$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/docker/compose/v2/cmd"\n' >"$src/tools.go"
    (cd "$src" && GOFLAGS=-mod=mod go mod tidy >&2 && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$compose_version" \
      -o "$bin.tmp" github.com/docker/compose/v2/cmd >&2)
    mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

cmd_stage() {
  out=build/docker
  envoy=$(scripts/envoy.sh)
  scripts/build-wasm.sh >&2
  rm -rf "$out/sandbox" "$out/envoy"
  # The image for the control plane, the apply job and the demo apps.
  s=$out/sandbox/rootfs
  mkdir -p "$s/usr/local/bin" "$s/wasmesh/build" "$s/wasmesh/sandbox/compose" "$s/tmp" "$out/sandbox/data"
  chmod 1777 "$s/tmp"
  CGO_ENABLED=0 go build -trimpath -o "$s/usr/local/bin/wasmesh" ./cmd/wasmesh
  CGO_ENABLED=0 go build -trimpath -o "$s/usr/local/bin/demo" ./sandbox/demo/cmd/demo
  cp build/*.wasm "$s/wasmesh/build/"
  cp -r sandbox/crds "$s/wasmesh/sandbox/crds"
  cp -r sandbox/compose/crds "$s/wasmesh/sandbox/compose/crds"
  # Stock Envoy and the shared libraries it links, at the paths ldd reports.
  e=$out/envoy/rootfs
  mkdir -p "$e/usr/local/bin" "$e/tmp"
  chmod 1777 "$e/tmp"
  cp "$envoy" "$e/usr/local/bin/envoy"
  libs=$(ldd "$envoy" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p')
  [ -n "$libs" ] || { say "ldd $envoy listed no libraries"; exit 1; }
  for lib in $libs; do
    mkdir -p "$e$(dirname "$lib")"
    cp -L "$lib" "$e$lib"
  done
  say "offline build contexts: $out/sandbox, $out/envoy (Envoy $envoy and $(echo "$libs" | wc -w) libraries from ldd)"
}

# prepare: what `make test` does before the tests, so the long build does not run alongside
# them: install docker.io (under CI=true) and build Compose when a Docker engine is installed.
cmd_prepare() {
  if ! command -v dockerd >/dev/null && ! { command -v docker >/dev/null && engine_up; }; then
    if ! want_install; then
      say "no Docker engine: the compose sandbox test (TestComposeSandbox) will skip; see docs/sandbox.md"
      return 0
    fi
    install_docker
  fi
  cmd_compose >/dev/null
}

case "${1:-}" in
  up) cmd_up ;;
  prepare) cmd_prepare ;;
  down) cmd_down ;;
  compose) cmd_compose ;;
  stage) cmd_stage ;;
  *) echo "usage: scripts/docker.sh up|down|compose|stage|prepare" >&2; exit 2 ;;
esac
