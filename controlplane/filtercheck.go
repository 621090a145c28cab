package controlplane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// FilterConfigs generates, for a set of resources, the JSON configuration of each built-in
// filter (keyed by filter name: router, canary, fault, telemetry), in the per-service map
// form `{"services": {"<service>": {...}}}` (docs/conventions.md). The translator provides it.
type FilterConfigs func(set *crd.Set) (map[string][]byte, error)

// FilterParser is a built-in filter's own strict config parser (its ParseConfig, result
// dropped).
type FilterParser func(config []byte) error

// FilterChecker returns the Checker that runs each built-in filter's own parser on the
// config generated for it, so a resource the filter would refuse never reaches Envoy. A
// problem at `services.<service>...` is reported on the resource that configures that
// filter for that service: the TrafficRoute (router, canary), the FaultInjection (fault) or
// the Telemetry (telemetry).
func FilterChecker(generate FilterConfigs, parsers map[string]FilterParser) crd.Checker {
	return crd.CheckerFunc(func(_ context.Context, set *crd.Set, _ []crd.Key) error {
		configs, err := generate(set)
		if err != nil {
			return fmt.Errorf("generate filter configs: %w", err)
		}
		var errs []error
		for _, name := range slices.Sorted(maps.Keys(configs)) {
			parse, ok := parsers[name]
			if !ok {
				errs = append(errs, fmt.Errorf("no config parser for the %s filter", name))
				continue
			}
			if err := parse(configs[name]); err != nil {
				for _, e := range crd.Leaves(err) {
					errs = append(errs, attributeFilterError(set, name, e))
				}
			}
		}
		return errors.Join(errs...)
	})
}

var servicePath = regexp.MustCompile(`services(?:\.([a-z0-9-]+)|\["([^"]+)"\])`)

// attributeFilterError finds the resource a filter's parse error belongs to.
func attributeFilterError(set *crd.Set, filter string, err error) error {
	msg := err.Error()
	m := servicePath.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s filter refused the generated config: %w", filter, err)
	}
	svc := m[1] + m[2]
	var owner crd.Object
	path := "spec"
	switch filter {
	case "router", "canary":
		path = map[string]string{"router": "spec.rules", "canary": "spec.split"}[filter]
		for _, r := range set.TrafficRoutes {
			if r.Spec.Service == svc {
				owner = r
			}
		}
	case "fault":
		for _, f := range set.FaultInjections {
			if f.Spec.Service == svc {
				owner = f
			}
		}
	case "telemetry":
		for _, t := range set.Telemetries {
			if slices.Contains(t.Spec.Services, svc) {
				owner = t
			}
			if owner == nil && len(t.Spec.Services) == 0 {
				owner = t
			}
		}
	}
	if owner == nil {
		return fmt.Errorf("%s filter refused the generated config for service %q: %w", filter, svc, err)
	}
	return &crd.ObjectError{Key: crd.KeyOf(owner), Err: &crd.FieldError{
		Path: path,
		Err:  fmt.Errorf("the %s filter refuses its generated config: %s", filter, strings.TrimSpace(msg)),
	}}
}
