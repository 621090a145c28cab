// Package api is the control plane's HTTP API under /api/v1 (apply, get, delete, status,
// module upload), protected by a bearer token, and the Go client the CLI uses.
//
// Apply runs every validation stage inside the store transaction that commits it: the
// documents' structure, references across the applied set and the store, then the
// configured crd.Checker stages (built-in filter config parsers, WasmPlugin dry runs). A
// problem anywhere refuses the whole apply; each problem names the file, the document and
// the field path.
package api
