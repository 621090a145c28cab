#!/usr/bin/env bash
# Builds every filter main package to build/<name>.wasm with the upstream Go toolchain
# (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared). A module is rebuilt only when a Go file it
# depends on inside this repository (or go.mod/go.sum) is newer than its .wasm.
# Usage: scripts/build-wasm.sh [DIR...]   (default: filters/cmd/*, examples/filters/*, testdata plugins)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${WASM_OUT:-build}
mkdir -p "$out"
if [ $# -eq 0 ]; then
  set -- $(find filters/cmd examples/filters testdata/plugins -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort)
fi
mod=$(go list -m)
built=0; fresh=0
for dir in "$@"; do
  [ -f "$dir/main.go" ] || continue
  name=$(basename "$dir")
  wasm="$out/$name.wasm"
  if [ -f "$wasm" ]; then
    # Repository-local package directories this module depends on.
    deps=$(GOOS=wasip1 GOARCH=wasm go list -deps -f '{{if .Module}}{{if eq .Module.Path "'"$mod"'"}}{{.Dir}}{{end}}{{end}}' "./$dir" | sort -u)
    newer=$(find $deps go.mod go.sum -maxdepth 1 \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) ! -name '*_test.go' -newer "$wasm" -print -quit 2>/dev/null)
    if [ -z "$newer" ]; then
      fresh=$((fresh+1)); continue
    fi
  fi
  start=$(date +%s.%N)
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "$wasm.tmp" "./$dir"
  mv "$wasm.tmp" "$wasm"
  end=$(date +%s.%N)
  printf 'build  %-28s %7.1f KiB  %5.1fs  (%s)\n' "$wasm" "$(( $(stat -c %s "$wasm") / 1024 ))" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" "$dir"
  built=$((built+1))
done
echo "build: $built rebuilt, $fresh up to date"
