package ir

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/sdk/match"
)

func services(names ...string) []crd.Object {
	var out []crd.Object
	for _, n := range names {
		out = append(out, &crd.Service{Metadata: crd.ObjectMeta{Name: n}, Spec: crd.ServiceSpec{Port: 9080,
			Versions: []crd.ServiceVersion{{Name: "v1", Endpoints: []string{"127.0.0.1:1"}}}}})
	}
	return out
}

// Every Service gets a policy for every filter; one without a FaultInjection says its trigger
// header is off, whatever the filter's own default.
func TestBuildDefaults(t *testing.T) {
	m, err := Build(crd.NewSet(services("a", "b")...), Options{})
	require.NoError(t, err)
	require.Len(t, m.Services, 2)
	cfgs, err := m.FilterConfigs()
	require.NoError(t, err)
	require.JSONEq(t, `{"services":{"a":{"triggerHeader":{"enabled":false}},"b":{"triggerHeader":{"enabled":false}}}}`, string(cfgs[FilterFault]))
	require.JSONEq(t, `{"services":{"a":{},"b":{}}}`, string(cfgs[FilterRouter]))
	fc, err := fault.ParseConfig(cfgs[FilterFault])
	require.NoError(t, err)
	require.False(t, *fc.Services["a"].TriggerHeader.Enabled)
}

// A Telemetry's tracing without startWhenAbsent starts no trace, as docs/crds.md says. The
// translator used to leave the field out, and the telemetry filter's own default (true) then
// started a trace for every request without one.
func TestTelemetryStartWhenAbsentDefault(t *testing.T) {
	objs := append(services("a"), &crd.Telemetry{Metadata: crd.ObjectMeta{Name: "t"}, Spec: crd.TelemetrySpec{Tracing: &crd.Tracing{}}})
	m, err := Build(crd.NewSet(objs...), Options{})
	require.NoError(t, err)
	cfgs, err := m.FilterConfigs()
	require.NoError(t, err)
	tc, err := telemetry.ParseConfig(cfgs[FilterTelemetry])
	require.NoError(t, err)
	tr := tc.Services["a"].Tracing
	require.NotNil(t, tr.StartWhenAbsent, "the control plane writes the value it means: %s", cfgs[FilterTelemetry])
	require.False(t, *tr.StartWhenAbsent)
}

// Check reports a filter's refusal on the resource and field its policy came from, by
// structure, and once per policy however many Services share it (in the order of the
// Services' names, each Service's filters in chain order).
func TestCheckAttributesByStructure(t *testing.T) {
	bad := "(a"
	objs := append(services("a", "b", "c"),
		// For every Service: three Services share the one policy.
		&crd.Telemetry{Metadata: crd.ObjectMeta{Name: "mesh", Namespace: "default"}, Spec: crd.TelemetrySpec{
			Metrics: &crd.Metrics{Dimensions: []string{"colour"}}}},
		&crd.TrafficRoute{Metadata: crd.ObjectMeta{Name: "b", Namespace: "default"}, Spec: crd.TrafficRouteSpec{Service: "b",
			Split: &crd.Split{Weights: map[string]int{"v1": 90}}}},
		&crd.AuthorizationPolicy{Metadata: crd.ObjectMeta{Name: "p", Namespace: "default"}, Spec: crd.AuthorizationPolicySpec{
			Action: "ALLOW", Rules: []crd.AuthorizationRule{{}, {Match: &crd.Match{Headers: []match.HeaderSpec{{Name: "x", Regex: &bad}}}}}}},
	)
	m, err := Build(crd.NewSet(objs...), Options{})
	require.NoError(t, err)
	err = m.Check()
	require.Error(t, err)
	var got []string
	for _, e := range crd.Leaves(err) {
		var oe *crd.ObjectError
		require.True(t, errors.As(e, &oe), "%v is attributed to a resource", e)
		got = append(got, oe.Error())
	}
	require.Equal(t, []string{
		`Telemetry "mesh": spec.metrics.dimensions[0]: the telemetry filter refuses it: unknown dimension "colour" (known: source_service, source_version, destination_service, destination_version, route, method, response_code_class)`,
		`AuthorizationPolicy "p": spec.rules[1].match.headers[0].regex: the authz filter refuses it: invalid regex "(a": missing closing )`,
		`TrafficRoute "b": spec.split.weights: the canary filter refuses it: weights sum to 90, want 100`,
	}, got, strings.Join(got, "\n"))
}
