package admission

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/crd/crdtest"
)

const head = crdtest.Head

const svcReviews = crdtest.Reviews

func decodeAs(t *testing.T, source, y string) []crd.Document {
	t.Helper()
	docs, err := crd.Decode(source, []byte(y))
	require.NoError(t, err)
	return docs
}

// checkWith runs admission (no store) for docs against stored with filters as the filter
// parsers stage.
func checkWith(t *testing.T, docs []crd.Document, stored *crd.Set, filters ...crd.Checker) error {
	t.Helper()
	return New(Config{Filters: filters}).Check(context.Background(), Inputs(docs...), stored)
}

// The references stage, its problems attributed to the documents: a stored resource the apply
// would break is reported on the applied one that breaks it.
func TestReferences(t *testing.T) {
	stored := crd.NewSet(decodeAs(t, "canary.yaml", svcReviews)[0].Object)
	route := head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  rules:
  - {name: pin, match: {method: POST}, destination: {version: v4}}
  split:
    weights: {v1: 90, v3: 10}
    overrides: [{match: {headers: [{name: x-canary, exact: always}]}, version: v3}]
  mirror: {version: v3, percentage: 5}
`
	validRoute := strings.ReplaceAll(strings.ReplaceAll(route, "v3", "v2"), "v4", "v1")
	withRoute := crd.NewSet(append(stored.Objects(), decodeAs(t, "canary.yaml", validRoute)[0].Object)...)
	tests := []struct {
		name   string
		stored *crd.Set
		docs   string
		want   []string
	}{
		{name: "valid", stored: stored, docs: validRoute},
		{
			name: "versions not on the stored Service", stored: stored, docs: route,
			want: []string{
				`canary.yaml:7: document 1 (TrafficRoute "reviews"): spec.rules[0].destination.version: version "v4" is not defined on Service "reviews"`,
				`canary.yaml:9: document 1 (TrafficRoute "reviews"): spec.split.weights.v3: version "v3" is not defined on Service "reviews"`,
				`canary.yaml:10: document 1 (TrafficRoute "reviews"): spec.split.overrides[0].version: version "v3" is not defined on Service "reviews"`,
				`canary.yaml:11: document 1 (TrafficRoute "reviews"): spec.mirror.version: version "v3" is not defined on Service "reviews"`,
			},
		},
		{
			name: "service missing", stored: crd.NewSet(), docs: route,
			want: []string{`canary.yaml:5: document 1 (TrafficRoute "reviews"): spec.service: Service "reviews" does not exist`},
		},
		{
			name: "service defined in the same apply", stored: crd.NewSet(),
			docs: strings.Replace(svcReviews, "v2", "v3", 1) + "  - {name: v4, endpoints: [\"h:4\"]}\n---\n" + route,
		},
		{
			name:   "applied Service breaks a stored route",
			stored: withRoute,
			docs:   strings.Replace(svcReviews, "  - {name: v2, endpoints: [\"127.0.0.1:2\"]}\n", "", 1),
			want: []string{
				`canary.yaml:6: document 1 (Service "reviews"): spec.versions: breaks TrafficRoute "reviews": spec.split.weights.v2: version "v2" is not defined on Service "reviews"`,
				`canary.yaml:6: document 1 (Service "reviews"): spec.versions: breaks TrafficRoute "reviews": spec.split.overrides[0].version: version "v2" is not defined on Service "reviews"`,
				`canary.yaml:6: document 1 (Service "reviews"): spec.versions: breaks TrafficRoute "reviews": spec.mirror.version: version "v2" is not defined on Service "reviews"`,
			},
		},
		{
			name: "second route for a Service", stored: withRoute,
			docs: strings.Replace(validRoute, "name: reviews", "name: another", 1),
			want: []string{`canary.yaml:5: document 1 (TrafficRoute "another"): spec.service: Service "reviews" already has TrafficRoute "reviews"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWith(t, decodeAs(t, "canary.yaml", tt.docs), tt.stored)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tt.want, strings.Split(err.Error(), "\n"))
		})
	}
}

// A checker stage sees the merged set and the changed keys; its findings are attributed to
// the documents, what it cannot attribute is reported as it is.
func TestCheckerAttribution(t *testing.T) {
	docs := decodeAs(t, "p.yaml", svcReviews)
	var gotChanged []crd.Key
	checker := crd.CheckerFunc(func(_ context.Context, set *crd.Set, changed []crd.Key) error {
		gotChanged = changed
		return errors.Join(
			&crd.ObjectError{Key: crd.KeyOf(set.Services[0]), Err: &crd.FieldError{Path: "spec.port", Err: errors.New("refused by the filter")}},
			errors.New("unattributed"),
		)
	})
	err := checkWith(t, docs, crd.NewSet(), checker)
	require.EqualError(t, err, "p.yaml:5: document 1 (Service \"reviews\"): spec.port: refused by the filter\nunattributed")
	require.Equal(t, []crd.Key{{Kind: crd.KindService, Namespace: "default", Name: "reviews"}}, gotChanged)
}

// The security kinds' references: one mesh-wide TransportPolicy, Services that exist.
func TestSecurityReferences(t *testing.T) {
	meshWide := head + "kind: TransportPolicy\nmetadata: {name: mesh}\nspec: {mode: STRICT}\n"
	stored := crd.NewSet(decodeAs(t, "p.yaml", svcReviews)[0].Object, decodeAs(t, "p.yaml", meshWide)[0].Object)
	err := checkWith(t, decodeAs(t, "p.yaml", strings.ReplaceAll(meshWide, "name: mesh}", "name: other, namespace: ops}")), stored)
	require.EqualError(t, err, `p.yaml:4: document 1 (TransportPolicy "other"): spec.services: TransportPolicy "mesh" already applies to every Service`,
		"one mesh-wide default, whatever the namespace")
	err = checkWith(t, decodeAs(t, "p.yaml", head+"kind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: DENY, services: [ratings], rules: [{}]}\n"), stored)
	require.EqualError(t, err, `p.yaml:4: document 1 (AuthorizationPolicy "a"): spec.services[0]: Service "ratings" does not exist`)
	require.NoError(t, checkWith(t, decodeAs(t, "p.yaml", head+"kind: TransportPolicy\nmetadata: {name: r}\nspec: {mode: DISABLE, services: [reviews]}\n"), stored))
}

// The sample resources under examples/crds are admitted as one apply.
func TestExamples(t *testing.T) {
	docs, err := crd.ReadPaths(nil, "../../examples/crds")
	require.NoError(t, err)
	require.Len(t, docs, 6)
	require.NoError(t, checkWith(t, docs, crd.NewSet()))
}
