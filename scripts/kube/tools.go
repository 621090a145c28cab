//go:build tools

// Package kube pins the Kubernetes tools that scripts/kube.sh builds into .tools/kube/ for the
// Kubernetes integration tests (controlplane/kube/kubetest): kube-apiserver v1.34.4 and etcd
// 3.6.4. It is its own module so the wasmesh module does not require all of Kubernetes.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
