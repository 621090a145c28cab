#!/usr/bin/env bash
# Builds the Kubernetes test binaries into .tools/kube/ (ignored by git) from the Go module
# proxy: kube-apiserver v1.34.4 and etcd 3.6.4, from the wrapper module in scripts/kube/ (its
# own go.mod, so the wasmesh module does not require Kubernetes). About 10 minutes cold on two
# cores, once per machine; skipped when both binaries are present at the right versions.
# Progress goes to stderr; the folder's absolute path is printed on stdout (the Kubernetes
# integration tests read it from $WASMESH_KUBE_BIN, default .tools/kube).
set -euo pipefail
cd "$(dirname "$0")/.."
k8s_version=v1.34.4
etcd_version=3.6.4
out=.tools/kube
mkdir -p "$out"
say() { echo "kube: $*" >&2; }

have_apiserver() { [ -x $out/kube-apiserver ] && $out/kube-apiserver --version 2>/dev/null | grep -qx "Kubernetes $k8s_version"; }
have_etcd() { [ -x $out/etcd ] && $out/etcd --version 2>/dev/null | grep -q "etcd Version: $etcd_version"; }

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
have_etcd || { say "$out/etcd does not report version $etcd_version"; exit 1; }
have_apiserver || { say "$out/kube-apiserver does not report $k8s_version"; exit 1; }
cd "$out" && pwd
