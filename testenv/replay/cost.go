package replay

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// ReportCost writes, per case, what it cost in crossings between Envoy and the filters' VMs
// (`wasmesh replay --cost`): host calls out of the modules, event callbacks into them and
// allocation callbacks, then the host calls by name. Each crossing costs about 2–3 µs of
// Envoy CPU in V8 (docs/authoring.md, "The crossing budget").
func ReportCost(w io.Writer, results []Result) {
	fmt.Fprintf(w, "%-44s %10s %10s %7s  %s\n", "case", "host calls", "callbacks", "allocs", "host calls by name")
	for _, r := range results {
		host, events, allocs := r.Cost.Totals()
		names := make([]string, 0, len(r.Cost.HostCalls))
		for _, name := range slices.Sorted(maps.Keys(r.Cost.HostCalls)) {
			names = append(names, fmt.Sprintf("%s %d", strings.TrimPrefix(name, "wasi_snapshot_preview1."), r.Cost.HostCalls[name]))
		}
		name := r.Name
		if len(name) > 44 {
			name = name[:41] + "..."
		}
		fmt.Fprintf(w, "%-44s %10d %10d %7d  %s\n", name, host, events, allocs, strings.Join(names, ", "))
	}
}
