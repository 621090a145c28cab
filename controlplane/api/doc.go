// Package api is the control plane's HTTP API under /api/v1 (apply, get, delete, status,
// module upload), protected by a bearer token, and the Go client the CLI uses.
//
// Apply and delete go through controlplane/admission, the one admission pipeline (decode,
// structure, references, the filters' own parsers, module fetch, WasmPlugin dry run), which
// runs outside the store's write lock and commits optimistically. A problem anywhere refuses
// the whole apply (HTTP 422); each problem names the file, the document and the field path.
package api
