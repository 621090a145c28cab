package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

func TestFilterChecker(t *testing.T) {
	docs, err := crd.ReadPaths(nil, "../examples/crds")
	require.NoError(t, err)

	// A fake translator: the canary config carries the route's weights per service.
	generate := func(set *crd.Set) (map[string][]byte, error) {
		services := map[string]any{}
		for _, r := range set.TrafficRoutes {
			services[r.Spec.Service] = map[string]any{"weights": r.Spec.Split.Weights}
		}
		canary, err := json.Marshal(map[string]any{"services": services})
		return map[string][]byte{"canary": canary, "fault": []byte(`{"services":{}}`)}, err
	}
	// A fake canary parser that refuses weights above 80 and reports the JSON path.
	parsers := map[string]FilterParser{
		"canary": func(b []byte) error {
			var c struct {
				Services map[string]struct{ Weights map[string]int }
			}
			if err := json.Unmarshal(b, &c); err != nil {
				return err
			}
			var errs []error
			for svc, p := range c.Services {
				for v, w := range p.Weights {
					if w > 80 {
						errs = append(errs, fmt.Errorf("services.%s.weights.%s: %d is above 80", svc, v, w))
					}
				}
			}
			return errors.Join(errs...)
		},
		"fault": func([]byte) error { return nil },
	}
	err = admission.New(admission.Config{Filters: []crd.Checker{FilterChecker(generate, parsers)}}).Check(context.Background(), admission.Inputs(docs...), crd.NewSet())
	require.Error(t, err)
	require.Equal(t, []string{
		`../examples/crds/reviews-canary.yaml:21: document 1 (TrafficRoute "reviews"): spec.split: the canary filter refuses its generated config: services.reviews.weights.v1: 90 is above 80`,
	}, strings.Split(err.Error(), "\n"))

	// A filter without a parser is a wiring error, not silently skipped.
	delete(parsers, "fault")
	err = FilterChecker(generate, parsers).Check(context.Background(), crd.NewSet(), nil)
	require.EqualError(t, err, "no config parser for the fault filter")
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
