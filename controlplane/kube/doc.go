// Package kube is wasmesh's Kubernetes mode (docs/kubernetes.md): the wasmesh resources as
// CustomResourceDefinitions generated from the Go types of controlplane/crd (CRD,
// CRDManifest), the validating admission webhook that runs the same checks as `wasmesh apply`
// (Webhook), the source that feeds the xDS server from the API server (Source: our custom
// resources, Services, EndpointSlices and Pods), the status writer coordinated by a Lease
// (StatusWriter) and the install manifests (Install). Sidecar injection is
// controlplane/kube/inject; the test harness running a real kube-apiserver and etcd is
// controlplane/kube/kubetest.
package kube
