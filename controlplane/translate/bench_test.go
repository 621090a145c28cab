package translate

import (
	"fmt"
	"testing"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// benchSet returns n Services (three versions each) with a TrafficRoute (rules, split,
// timeout, retries) and a FaultInjection on every second one, a Telemetry for all and two
// WasmPlugins.
func benchSet(n int) *crd.Set {
	var objs []crd.Object
	grpc := uint32(14)
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		objs = append(objs,
			&crd.Service{Metadata: crd.ObjectMeta{Name: name, Generation: 1}, Spec: crd.ServiceSpec{Port: 9080, Versions: []crd.ServiceVersion{
				{Name: "v1", Endpoints: []string{fmt.Sprintf("10.0.%d.%d:15006", i/250, i%250+1), fmt.Sprintf("10.3.%d.%d:15006", i/250, i%250+1)}},
				{Name: "v2", Endpoints: []string{fmt.Sprintf("10.1.%d.%d:15006", i/250, i%250+1)}},
				{Name: "v3", Endpoints: []string{fmt.Sprintf("10.2.%d.%d:15006", i/250, i%250+1)}},
			}}},
			&crd.TrafficRoute{Metadata: crd.ObjectMeta{Name: name, Generation: 1}, Spec: crd.TrafficRouteSpec{Service: name,
				Rules: []crd.RouteRule{{Name: "preview", Match: crd.Match{Headers: []match.HeaderSpec{{Name: "x-user", Regex: new("^tester-")}}},
					Destination: &crd.Destination{Version: "v3"}}},
				Split:   &crd.Split{Weights: map[string]int{"v1": 90, "v2": 10}, Sticky: &canary.Sticky{Header: "x-user"}},
				Retries: &crd.Retries{Attempts: new(uint32(2))}}},
		)
		if i%2 == 0 {
			objs = append(objs, &crd.FaultInjection{Metadata: crd.ObjectMeta{Name: name, Generation: 1}, Spec: crd.FaultInjectionSpec{Service: name,
				Rules: []crd.FaultRule{{Name: "flaky", Abort: &crd.FaultAbort{HTTPStatus: 503, GRPCStatus: &grpc, Percentage: new(1.0)}}}}})
		}
	}
	objs = append(objs,
		&crd.Telemetry{Metadata: crd.ObjectMeta{Name: "mesh", Generation: 1}, Spec: crd.TelemetrySpec{Metrics: &crd.Metrics{}}},
		&crd.WasmPlugin{Metadata: crd.ObjectMeta{Name: "auth", Generation: 1}, Spec: crd.WasmPluginSpec{Module: crd.Module{SHA256: fmt.Sprintf("%064x", 1)}, Phase: crd.PhaseBefore}},
		&crd.WasmPlugin{Metadata: crd.ObjectMeta{Name: "audit", Generation: 1}, Spec: crd.WasmPluginSpec{Module: crd.Module{SHA256: fmt.Sprintf("%064x", 2)},
			Selector: crd.Selector{Services: []string{"svc-1"}}}},
	)
	return crd.NewSet(objs...)
}

// BenchmarkTranslate1000Services measures translating a 1,000-Service mesh: Build (what
// every sidecar shares, filter configs included) plus one sidecar's resources and their
// versions.
//
//	go test ./controlplane/translate -run '^$' -bench Translate1000
func BenchmarkTranslate1000Services(b *testing.B) {
	set := benchSet(1000)
	opts := Options{ModulesURL: "http://127.0.0.1:18001", Builtins: map[string]string{BundleFile: fmt.Sprintf("%064x", 9)}}
	node := Node{ID: "svc-1.v1.0", Service: "svc-1", Version: "v1", AppAddress: "127.0.0.1:8080",
		InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001"}
	b.ReportAllocs()
	for b.Loop() {
		m, err := Build(set, opts)
		if err != nil {
			b.Fatal(err)
		}
		r, err := m.ForNode(node)
		if err != nil {
			b.Fatal(err)
		}
		for _, typ := range TypeNames() {
			_ = r.Version(typ)
		}
	}
}

// BenchmarkForNode measures one more sidecar's resources on a built 1,000-Service mesh (what
// each connected node costs per change).
func BenchmarkForNode(b *testing.B) {
	m, err := Build(benchSet(1000), Options{ModulesURL: "http://127.0.0.1:18001", Builtins: map[string]string{BundleFile: fmt.Sprintf("%064x", 9)}})
	if err != nil {
		b.Fatal(err)
	}
	node := Node{ID: "svc-1.v1.0", Service: "svc-1", Version: "v1", AppAddress: "127.0.0.1:8080",
		InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001"}
	b.ReportAllocs()
	for b.Loop() {
		r, err := m.ForNode(node)
		if err != nil {
			b.Fatal(err)
		}
		for _, typ := range TypeNames() {
			_ = r.Version(typ)
		}
	}
}
