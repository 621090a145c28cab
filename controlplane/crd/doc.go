// Package crd defines the wasmesh.io/v1alpha1 resources (Service, TrafficRoute, FaultInjection,
// Telemetry, WasmPlugin, TransportPolicy, AuthorizationPolicy), decodes them strictly from multi-document YAML with errors that name
// the file, the document and the field path, and validates them: structure, and references
// across a set of resources. The Checker interface is how deeper checks (filter config
// parsers, plugin dry runs) plug into controlplane/admission, which runs every stage.
//
// The types are plain data with json tags; the same JSON is stored, sent over the API and read
// by the translator.
package crd
