// Package admission is the control plane's one admission pipeline: what an apply or a delete
// goes through before it is stored. Its stages, in order (admission.go lists them in one
// place): decode → structure → references → policy → filter parsers → module fetch →
// WasmPlugin dry run. The standalone API server, the Kubernetes validating webhook and the
// tests run the same list; what differs between them (how a module reaches the server,
// the mode's limits) is a stage's implementation given in Config.
//
// Admission runs against a snapshot of the store at revision R, outside the store's write
// lock, so a slow module download or dry run never holds up other writes; the store commits
// only if it is still at R (store.ApplyIf, optimistic concurrency like Kubernetes'
// resourceVersion), and otherwise admission runs again on the new state.
package admission
