package observe

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

func TestHealth(t *testing.T) {
	tests := []struct {
		rps, errRate float64
		want         string
	}{
		{0, 0, HealthIdle},
		{5, 0, HealthHealthy},
		{5, 0.0009, HealthHealthy},
		{5, 0.001, HealthDegraded},
		{5, 0.10, HealthDegraded},
		{5, 0.1001, HealthFailing},
		{5, 1, HealthFailing},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Health(tc.rps, tc.errRate), "rps %g, 5xx %g", tc.rps, tc.errRate)
	}
}

func TestBuildGraph(t *testing.T) {
	set := crd.NewSet(
		&crd.Service{TypeMeta: crd.TypeMeta{Kind: crd.KindService}, Metadata: crd.ObjectMeta{Name: "reviews", Namespace: "default"},
			Spec: crd.ServiceSpec{Versions: []crd.ServiceVersion{{Name: "v1"}, {Name: "v2"}}}},
		&crd.Service{TypeMeta: crd.TypeMeta{Kind: crd.KindService}, Metadata: crd.ObjectMeta{Name: "ratings", Namespace: "default"},
			Spec: crd.ServiceSpec{Versions: []crd.ServiceVersion{{Name: "v1"}}}},
		&crd.TrafficRoute{TypeMeta: crd.TypeMeta{Kind: crd.KindTrafficRoute}, Metadata: crd.ObjectMeta{Name: "reviews", Namespace: "default"},
			Spec: crd.TrafficRouteSpec{Service: "reviews", Split: &crd.Split{Weights: map[string]int{"v1": 90, "v2": 10}}}},
		&crd.FaultInjection{TypeMeta: crd.TypeMeta{Kind: crd.KindFaultInjection}, Metadata: crd.ObjectMeta{Name: "ratings", Namespace: "default"},
			Spec: crd.FaultInjectionSpec{Service: "ratings", Rules: []crd.FaultRule{{Name: "all", Abort: &crd.FaultAbort{HTTPStatus: 503, Percentage: new(100.0)}}}}},
		&crd.Telemetry{TypeMeta: crd.TypeMeta{Kind: crd.KindTelemetry}, Metadata: crd.ObjectMeta{Name: "mesh", Namespace: "default"}},
		&crd.WasmPlugin{TypeMeta: crd.TypeMeta{Kind: crd.KindWasmPlugin}, Metadata: crd.ObjectMeta{Name: "authz", Namespace: "default"},
			Spec: crd.WasmPluginSpec{Selector: crd.Selector{Services: []string{"reviews"}}}},
	)
	sidecars := []Sidecar{
		{ID: "reviews.v1.0", Service: "reviews", Version: "v1", Connected: true, Acked: true},
		{ID: "ratings.v1.0", Service: "ratings", Version: "v1", Connected: true, Errors: []string{"listeners version 3 refused: bad"}},
		{ID: "frontend.v1.0", Service: "frontend", Version: "v1", Connected: true, Acked: true},
	}
	edges := []EdgeStats{
		{EdgeKey: edge("frontend", "v1", "reviews", "v1"), RPS: 9, ErrorRate: 0},
		{EdgeKey: edge("reviews", "v1", "ratings", "v1"), RPS: 8, ErrorRate: 0.5},
	}
	mtls := func(k EdgeKey) bool { return k.Source.Service == "frontend" }
	g := BuildGraph(set, sidecars, edges, time.Minute, GraphOptions{MTLS: mtls})
	var ids []string
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	require.Equal(t, []string{"frontend:v1", "ratings:v1", "reviews:v1", "reviews:v2"}, ids)
	require.False(t, g.Nodes[0].Declared, "frontend has no Service resource here")
	require.Equal(t, HealthFailing, g.Nodes[1].Health)
	require.Equal(t, HealthIdle, g.Nodes[3].Health)
	require.Equal(t, "reviews.v1.0", g.Nodes[2].Sidecars[0].ID)
	key := func(k crd.Kind, n string) crd.Key { return crd.Key{Kind: k, Namespace: "default", Name: n} }
	require.Equal(t, []crd.Key{key(crd.KindFaultInjection, "ratings"), key(crd.KindService, "ratings"), key(crd.KindTelemetry, "mesh")}, g.Nodes[1].Resources)

	require.Len(t, g.Edges, 2)
	fe, rr := g.Edges[0], g.Edges[1]
	require.Equal(t, "frontend:v1->reviews:v1", fe.ID)
	require.Equal(t, HealthHealthy, fe.Health)
	require.Equal(t, 90, *fe.Weight)
	require.True(t, fe.MTLS)
	require.Equal(t, []crd.Key{key(crd.KindTelemetry, "mesh"), key(crd.KindTrafficRoute, "reviews")}, fe.Resources)
	require.Equal(t, HealthFailing, rr.Health)
	require.Equal(t, 50.0, rr.ErrorPercent)
	require.Nil(t, rr.Weight)
	require.False(t, rr.MTLS)
	require.Equal(t, []string{"all: abort http 503, 100%"}, rr.Faults)
	require.Equal(t, []crd.Key{key(crd.KindFaultInjection, "ratings"), key(crd.KindTelemetry, "mesh"), key(crd.KindWasmPlugin, "authz")}, rr.Resources,
		"the caller's WasmPlugins shape its calls")

	// Without the option, the lock follows the destination's transport mode.
	require.False(t, BuildGraph(set, sidecars, edges, time.Minute, GraphOptions{}).Edges[1].MTLS, "no TransportPolicy: DISABLE")
	strict := crd.NewSet(append(set.Objects(), &crd.TransportPolicy{TypeMeta: crd.TypeMeta{Kind: crd.KindTransportPolicy},
		Metadata: crd.ObjectMeta{Name: "ratings", Namespace: "default"}, Spec: crd.TransportPolicySpec{Services: []string{"ratings"}, Mode: crd.ModeStrict}})...)
	g = BuildGraph(strict, sidecars, edges, time.Minute, GraphOptions{})
	require.False(t, g.Edges[0].MTLS, "reviews stays DISABLE")
	require.True(t, g.Edges[1].MTLS, "ratings is STRICT")
}
