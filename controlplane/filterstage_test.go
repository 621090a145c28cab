package controlplane

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
)

// The filter stage attributes a filter's refusal to the resource and field it came from, by
// the IR's structure. The stored TrafficRoute here never went through structure validation
// (written by an older control plane, say): only the canary filter's own parser stands
// between it and Envoy.
func TestFilterChecker(t *testing.T) {
	docs, err := crd.ReadPaths(nil, "../examples/crds")
	require.NoError(t, err)
	var objs []crd.Object
	var route *crd.TrafficRoute
	for _, d := range docs {
		objs = append(objs, d.Object)
		if r, ok := d.Object.(*crd.TrafficRoute); ok && r.Spec.Split != nil {
			route = r
		}
	}
	require.NotNil(t, route, "the examples have a TrafficRoute with a split")
	set := crd.NewSet(objs...)
	require.NoError(t, FilterChecker(ir.Options{}).Check(context.Background(), set, nil))

	route.Spec.Split.Weights = map[string]int{"v1": 90, "v2": 20}
	err = FilterChecker(ir.Options{}).Check(context.Background(), set, nil)
	require.EqualError(t, err, `TrafficRoute "reviews": spec.split.weights: the canary filter refuses it: weights sum to 110, want 100`)
}

// Kubernetes mode runs no CA: a TransportPolicy asking for mutual TLS is refused on its
// mode, DISABLE is accepted, and policies not being applied are not judged.
func TestNoMutualTLSChecker(t *testing.T) {
	tp := func(name, mode string) *crd.TransportPolicy {
		return &crd.TransportPolicy{TypeMeta: crd.TypeMeta{Kind: crd.KindTransportPolicy}, Metadata: crd.ObjectMeta{Name: name, Namespace: "default"},
			Spec: crd.TransportPolicySpec{Mode: mode}}
	}
	strict, off := tp("mesh", crd.ModeStrict), tp("off", crd.ModeDisable)
	set := crd.NewSet(strict, off)
	err := NoMutualTLSChecker.Check(context.Background(), set, []crd.Key{crd.KeyOf(strict), crd.KeyOf(off)})
	require.EqualError(t, err, `TransportPolicy "mesh": spec.mode: STRICT needs the mesh CA, which Kubernetes mode does not run yet: use DISABLE here, or standalone mode for mutual TLS (docs/kubernetes.md)`)
	require.NoError(t, NoMutualTLSChecker.Check(context.Background(), set, []crd.Key{crd.KeyOf(off)}))
}
