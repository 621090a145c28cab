// Package ca is the mesh's certificate authority: a root (generated on first start under the
// control plane's data directory, key 0600, or a user-provided root or intermediate read from
// files) that issues each sidecar a short-lived leaf certificate for its workload identity,
// the SPIFFE ID spiffe://<trust-domain>/ns/<namespace>/sa/<service> (docs/security.md).
// The xDS server delivers the leaf and the CA bundle over SDS; the key never leaves the data
// directory.
package ca
