package translate

import (
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
