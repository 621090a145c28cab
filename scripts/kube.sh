#!/usr/bin/env bash
# Builds the Kubernetes test binaries into .tools/kube/ (ignored by git) from the Go module
# proxy: kube-apiserver v1.34.4 and etcd 3.6.4, from the wrapper module in scripts/kube/ (its
# own go.mod, so the wasmesh module does not require Kubernetes). About 10 minutes cold on two
# cores, once per machine; skipped when both binaries are present at the right versions.
# Progress goes to stderr; the folder's absolute path is printed on stdout (the Kubernetes
# integration tests read it from $WASMESH_KUBE_BIN, default .tools/kube).
# Usage: scripts/kube.sh            build what is missing into .tools/kube
#        scripts/kube.sh --check [DIR]  build nothing; exit 0 when DIR (default .tools/kube)
#                                   holds both binaries at these versions, else say what is off
set -euo pipefail
cd "$(dirname "$0")/.."
k8s_version=v1.34.4
etcd_version=3.6.4
out=.tools/kube
say() { echo "kube: $*" >&2; }

# The version output is captured whole before it is matched: `etcd --version | grep -q` under
# pipefail fails whenever grep exits on the first line before etcd has written the rest (etcd
# then dies of SIGPIPE), which is how a CI run once refused a freshly built etcd.
have_apiserver() {
  local v
  [ -x "$out/kube-apiserver" ] && v=$("$out/kube-apiserver" --version 2>/dev/null) && grep -qx "Kubernetes $k8s_version" <<<"$v"
}
have_etcd() {
  local v
  [ -x "$out/etcd" ] && v=$("$out/etcd" --version 2>/dev/null) && grep -q "^etcd Version: $etcd_version\$" <<<"$v"
}
check() {
  local ok=0
  have_etcd || { say "$out/etcd is missing or does not report version $etcd_version"; ok=1; }
  have_apiserver || { say "$out/kube-apiserver is missing or does not report $k8s_version"; ok=1; }
  return $ok
}

if [ "${1:-}" = --check ]; then
  out=${2:-$out}
  check
  exit
fi
mkdir -p "$out"

ldflags_k8s="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean"
if ! have_etcd; then
  say "building etcd $etcd_version into $out (under a minute)"
  start=$SECONDS
  (cd scripts/kube && go build -trimpath -ldflags "-s -w" -o ../../$out/etcd.tmp ./etcd) && mv $out/etcd.tmp $out/etcd
  say "etcd built in $((SECONDS - start))s"
fi
if ! have_apiserver; then
  say "building kube-apiserver $k8s_version into $out (about 10 minutes cold on two cores, once)"
  start=$SECONDS
  (cd scripts/kube && go build -trimpath -ldflags "$ldflags_k8s" -o ../../$out/kube-apiserver.tmp k8s.io/kubernetes/cmd/kube-apiserver) &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    sleep 30 & wait $! || true
    kill -0 $pid 2>/dev/null && say "still building kube-apiserver ($((SECONDS - start))s)"
  done
  wait $pid
  mv $out/kube-apiserver.tmp $out/kube-apiserver
  say "kube-apiserver built in $((SECONDS - start))s"
fi
check
cd "$out" && pwd
