package ir

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
)

// Check builds the IR of set and checks it (Mesh.Check): what the IR and the filters would
// refuse in the set.
func Check(set *crd.Set, opts Options) error {
	m, err := Build(set, opts)
	if err != nil {
		return err
	}
	return m.Check()
}

// Check runs each filter's own parser on every policy of the mesh, so a configuration a filter
// would refuse never reaches Envoy. A problem is reported on the resource and field its policy
// came from (a *crd.ObjectError holding a *crd.FieldError at the policy's path plus the
// parser's), once per policy however many Services share it; a problem in a default the
// control plane writes names the filter and the Service.
func (m *Mesh) Check() error {
	var errs []error
	seen := map[*Origin]bool{}
	for _, name := range slices.Sorted(maps.Keys(m.Services)) {
		s := m.Services[name]
		errs = append(errs, check(seen, FilterRouter, name, s.Router, router.ParseConfig)...)
		errs = append(errs, check(seen, FilterCanary, name, s.Canary, canary.ParseConfig)...)
		errs = append(errs, check(seen, FilterFault, name, s.Fault, fault.ParseConfig)...)
		errs = append(errs, check(seen, FilterTelemetry, name, s.Telemetry, telemetry.ParseConfig)...)
		for _, a := range s.Authz {
			errs = append(errs, check(seen, FilterAuthz, name, a, authz.ParsePolicySpec)...)
		}
	}
	return errors.Join(errs...)
}

func check[T, C any](seen map[*Origin]bool, filter, service string, p Policy[T], parse func([]byte) (C, error)) []error {
	if p.From != nil {
		if seen[p.From] {
			return nil
		}
		seen[p.From] = true
	}
	path := ""
	if p.From != nil {
		path = p.From.Path
	}
	var out []error
	for _, fe := range crd.FilterProblems(path, p.Value, parse) {
		if p.From == nil {
			out = append(out, fmt.Errorf("the %s filter refuses the control plane's default policy for service %q: %w", filter, service, fe))
			continue
		}
		fe.Err = fmt.Errorf("the %s filter refuses it: %w", filter, fe.Err)
		out = append(out, &crd.ObjectError{Key: p.From.Key, Err: fe})
	}
	return out
}
