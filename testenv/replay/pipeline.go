package replay

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wasmesh/wasmesh/filters/chain"
)

// builtinFilter names the built-in filter a chain entry runs ("" when it is another module):
// a standalone build/<name>.wasm, or the bundle build/wasmesh.wasm under the filter's root_id.
func builtinFilter(fl Filter) string {
	base := strings.TrimSuffix(filepath.Base(fl.Wasm), ".wasm")
	name := base
	if base == "wasmesh" {
		name = fl.RootID
	} else if fl.RootID != "" && fl.RootID != base {
		return ""
	}
	if _, ok := chain.Filters()[name]; !ok {
		return ""
	}
	return name
}

// AsPipeline returns f with its chain of built-in filters (standalone modules or the bundle's
// root_ids) replaced by one plugin: the bundle's pipeline (root_id "chain") running them as
// stages, in order, with the same configurations. ok is false when f has a filter that is not
// a built-in one (or is already a pipeline).
func AsPipeline(f *File) (out *File, ok bool, err error) {
	if len(f.Filters) == 0 {
		return nil, false, nil
	}
	stages := make([]chain.StageConfig, 0, len(f.Filters))
	for _, fl := range f.Filters {
		name := builtinFilter(fl)
		if name == "" {
			return nil, false, nil
		}
		if len(fl.Config) > 0 && !json.Valid(fl.Config) {
			return nil, false, fmt.Errorf("%s:%d: the %s filter's config is not JSON", f.Path, fl.Line, name)
		}
		stages = append(stages, chain.StageConfig{Filter: name, Config: fl.Config})
	}
	p := *f
	p.Filters = []Filter{{
		Wasm:   filepath.Join(filepath.Dir(f.Filters[0].Wasm), "wasmesh.wasm"),
		RootID: chain.RootID,
		Config: chain.Marshal(stages),
		Line:   f.Filters[0].Line,
	}}
	return &p, true, nil
}
