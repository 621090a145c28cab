// Package crdtest holds the resource documents the control plane's tests share. It imports
// nothing, so package crd's own tests can use it too.
package crdtest

// Head is the first line of every wasmesh resource document.
const Head = "apiVersion: wasmesh.io/v1alpha1\n"

// Reviews is Service "reviews" on port 9080 with versions v1 and v2, at loopback endpoints
// nothing listens on.
const Reviews = Head + `kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  versions:
  - {name: v1, endpoints: ["127.0.0.1:1"]}
  - {name: v2, endpoints: ["127.0.0.1:2"]}
`
