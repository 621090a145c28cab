package crd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExamples checks the sample resources under examples/crds decode strictly (admission's
// TestExamples checks them as one apply).
func TestExamples(t *testing.T) {
	docs, err := ReadPaths(nil, "../../examples/crds")
	require.NoError(t, err)
	require.Len(t, docs, 6)
	set := Merge(NewSet(), docs)
	require.Equal(t, []string{"v1", "v2", "v3"}, set.Service("", "reviews").VersionNames())
	require.Equal(t, map[string]int{"v1": 90, "v2": 10}, set.TrafficRoutes[0].Spec.Split.Weights)
}
