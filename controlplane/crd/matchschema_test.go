package crd

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/sdk/match"
)

// matchCorpus enumerates the match schema the filters accept: every form of every condition
// (each string form also with the empty value where the filters accept one), and their
// combination.
func matchCorpus() []string {
	var out []string
	for _, p := range []string{`{"exact":"/a"}`, `{"prefix":"/"}`, `{"regex":"^/v[0-9]+/"}`} {
		out = append(out, `{"path":`+p+`}`)
	}
	out = append(out, `{"method":"GET"}`, `{"method":"PURGE"}`)
	for _, kind := range []string{"exact", "prefix", "regex"} {
		for _, v := range []string{`""`, `"x"`} {
			out = append(out, fmt.Sprintf(`{"headers":[{"name":"x-user","%s":%s}]}`, kind, v))
			out = append(out, fmt.Sprintf(`{"query":[{"name":"q","%s":%s}]}`, kind, v))
		}
	}
	out = append(out,
		`{"headers":[{"name":"x-user","present":true}]}`,
		`{"headers":[{"name":"x-user","absent":true}]}`,
		`{"query":[{"name":"q","present":true}]}`,
		`{"path":{"prefix":"/api"},"method":"POST","headers":[{"name":"a","exact":""},{"name":"b","absent":true}],"query":[{"name":"q","regex":"^1$"}]}`,
	)
	return out
}

// A resource can express every match the filters accept, and what it stores is what the
// filters get: each match of the schema, written in a TrafficRoute rule, a split override and
// a FaultInjection rule, is decoded by the CLI's decoder, passes validation, and reaches the
// filter's policy unchanged (the exact empty value included, which the older CRD could not
// say).
func TestMatchSchemaRoundTrip(t *testing.T) {
	for _, m := range matchCorpus() {
		t.Run(m, func(t *testing.T) {
			_, err := match.Parse([]byte(m))
			require.NoError(t, err, "the corpus holds only matches the filters accept")
			yaml := fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: r}
spec:
  service: reviews
  rules:
  - {name: one, match: %[1]s, destination: {version: v2}}
  split:
    weights: {v1: 50, v2: 50}
    overrides:
    - {match: %[1]s, version: v2}
---
apiVersion: wasmesh.io/v1alpha1
kind: FaultInjection
metadata: {name: f}
spec:
  service: reviews
  rules:
  - {name: one, match: %[1]s, abort: {httpStatus: 503, percentage: 100}}
`, m)
			docs, err := Decode("m.yaml", []byte(yaml))
			require.NoError(t, err)
			require.Len(t, docs, 2)
			route, fault := docs[0].Object.(*TrafficRoute), docs[1].Object.(*FaultInjection)
			for _, got := range []any{
				route.Spec.RouterPolicy().Rules[0].Match,
				route.Spec.Split.Overrides[0].Match,
				fault.Spec.FaultPolicy().Rules[0].Match,
			} {
				b, err := json.Marshal(got)
				require.NoError(t, err)
				require.JSONEq(t, m, string(b))
			}
		})
	}
}
