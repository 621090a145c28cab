// Package replay owns the replay case-file format: HTTP exchanges written in YAML, each run
// through a chain of compiled proxy-wasm filters and compared with what the file expects. The
// format is documented once, in docs/cli.md ("The replay file").
//
// The same files run under testenv (Run, used by `wasmesh replay`) and in a real Envoy
// (testenv/e2e, `wasmesh replay --envoy`); this package holds what both share: parsing with
// errors that name file:line and key (Parse, ReadFile), the clusters both runners create
// (File.Clusters), the comparison of expected and observed exchanges (Compare, with the
// Value forms: exact, regex, contains, absent), and the report (Report: one line per case with
// its duration, then the differences and, on request, the plugins' log lines).
package replay
