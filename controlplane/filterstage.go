package controlplane

import (
	"context"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
)

// filterParsers is admission's filter parsers stage (admission.Config.Filters), the same in
// both modes: the built-in filters' own parsers on the config the translator generates with
// opts, and the translator's plugin slots, so a set the filters or the translator would
// refuse never reaches Envoy.
func filterParsers(opts translate.Options) []crd.Checker {
	return []crd.Checker{
		FilterChecker(translate.FilterConfigs, BuiltinParsers()),
		authzChecker(opts),
		crd.CheckerFunc(func(_ context.Context, set *crd.Set, _ []crd.Key) error { return translate.CheckPluginSlots(set) }),
	}
}

// BuiltinParsers returns the built-in filters' own config parsers
// (filters/<name>/<name>.ParseConfig), keyed by filter name: the control plane runs each on
// the config the translator generates for it, so a config a filter would refuse never
// reaches Envoy.
func BuiltinParsers() map[string]FilterParser {
	return map[string]FilterParser{
		translate.FilterRouter:    func(b []byte) error { _, err := router.ParseConfig(b); return err },
		translate.FilterCanary:    func(b []byte) error { _, err := canary.ParseConfig(b); return err },
		translate.FilterFault:     func(b []byte) error { _, err := fault.ParseConfig(b); return err },
		translate.FilterTelemetry: func(b []byte) error { _, err := telemetry.ParseConfig(b); return err },
	}
}

// authzChecker runs the authz filter's own parser on the configuration the translator
// generates for it, so a policy the filter would refuse never reaches Envoy.
func authzChecker(opts translate.Options) crd.Checker {
	return FilterChecker(func(set *crd.Set) (map[string][]byte, error) {
		b, err := translate.AuthzConfig(set, opts)
		if err != nil {
			return nil, err
		}
		return map[string][]byte{translate.FilterAuthz: b}, nil
	}, map[string]FilterParser{translate.FilterAuthz: func(b []byte) error { _, err := authz.ParseConfig(b); return err }})
}
