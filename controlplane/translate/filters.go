package translate

import (
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
)

// The built-in filters, in chain order (docs/conventions.md).
const (
	FilterTelemetry = ir.FilterTelemetry
	FilterFault     = ir.FilterFault
	FilterRouter    = ir.FilterRouter
	FilterCanary    = ir.FilterCanary
	// FilterChain is the pipeline running the four in one filter (the default).
	FilterChain = "chain"
)

// Filters returns the built-in filters in chain order.
func Filters() []string {
	return []string{FilterTelemetry, FilterFault, FilterRouter, FilterCanary}
}

// FilterConfigs returns the JSON configuration of each built-in filter (keyed by filter
// name) for the resources, built through the IR (controlplane/ir): the per-service map
// `{"services": {...}}` with an entry for every Service (`{}` when no resource configures the
// filter for it, except the fault filter's `{"triggerHeader":{"enabled":false}}`: the trigger
// header belongs to a FaultInjection that enables it). The output is deterministic.
func FilterConfigs(set *crd.Set) (map[string][]byte, error) {
	m, err := ir.Build(set, ir.Options{})
	if err != nil {
		return nil, err
	}
	return m.FilterConfigs()
}
