package controlplane

import (
	"context"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// filterParsers is admission's filter parsers stage (admission.Config.Filters), the same in
// both modes: the built-in filters' own parsers on the IR of the set (FilterChecker), and the
// translator's plugin slots, so a set the filters or the translator would refuse never
// reaches Envoy.
func filterParsers(opts translate.Options) []crd.Checker {
	return []crd.Checker{
		FilterChecker(ir.Options{TrustDomain: opts.TrustDomain}),
		crd.CheckerFunc(func(_ context.Context, set *crd.Set, _ []crd.Key) error { return translate.CheckPluginSlots(set) }),
	}
}

// FilterChecker returns the Checker that builds the IR of the resources (controlplane/ir) and
// runs every built-in filter's own parser on each policy in it (ir.Mesh.Check), so a
// configuration a filter would refuse never reaches Envoy. A problem is reported on the
// resource and field the policy was built from, by structure.
func FilterChecker(opts ir.Options) crd.Checker {
	return crd.CheckerFunc(func(_ context.Context, set *crd.Set, _ []crd.Key) error { return ir.Check(set, opts) })
}
