// Package yamlstrict is the one strict YAML (and so JSON) decoder of wasmesh: the CLI's and
// the server's resource decoding (controlplane/crd: files, API request bodies and the
// resources in them) and replay files (testenv/replay) walk their documents with it, so a
// problem reads the same wherever it is found.
//
// It owns what every strict decoder needs and no schema: parsing, with the right line for a
// syntax error (yaml.v3 names the line before an indentation error) and JSON's `\/` escape
// (Documents); field paths (`spec.rules[0].match.headers[1].exact`) and the line of every
// path; unknown fields with a "did you mean"; duplicate keys; type errors phrased "expected X,
// got Y"; and a bound on the nodes a document expands to through aliases ("billion laughs").
// The callers keep their schema: crd decodes into its Go types by their json tags
// (Walker.Decode, with a Hook for its Duration); replay walks its nodes by hand
// (Walker.Mapping, Walker.Entries, Walker.Sequence, Walker.JSON).
package yamlstrict
