package controlplane

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
)

// The filter stage attributes a filter's refusal to the document and field it came from, by
// the IR's structure. The stored TrafficRoute here never went through structure validation
// (written by an older control plane, say): only the canary filter's own parser stands
// between it and Envoy.
func TestFilterChecker(t *testing.T) {
	docs, err := crd.ReadPaths(nil, "../examples/crds")
	require.NoError(t, err)
	var route *crd.TrafficRoute
	for _, d := range docs {
		if r, ok := d.Object.(*crd.TrafficRoute); ok && r.Spec.Split != nil {
			route = r
		}
	}
	require.NotNil(t, route, "the examples have a TrafficRoute with a split")
	route.Spec.Split.Weights = map[string]int{"v1": 90, "v2": 20}

	err = crd.ValidateApply(context.Background(), docs, crd.NewSet(), FilterChecker(ir.Options{}))
	require.Error(t, err)
	require.Equal(t, []string{
		`../examples/crds/reviews-canary.yaml:22: document 1 (TrafficRoute "reviews"): spec.split.weights: the canary filter refuses it: weights sum to 110, want 100`,
	}, strings.Split(err.Error(), "\n"))
}
