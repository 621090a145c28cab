package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/wasmesh/wasmesh/testenv/internal/wasmbin"
)

// Import is one function (or other item) a module imports.
type Import struct {
	Module, Name string
}

// ModuleInfo is what Inspect finds in a module: what `wasmesh check` prints.
type ModuleInfo struct {
	Size       int
	SHA256     string
	Imports    []Import
	Exports    []string
	ABIVersion string // "0.2.1", "0.2.0", "0.1.0" or "" (none)
	Reactor    bool   // exports _initialize
	Problems   []string
}

// Inspect analyses a module without running it. Problems lists every reason stock Envoy 1.40
// would refuse to load it (empty: loadable): a missing ABI version export, a missing allocator
// export, imports Envoy does not provide or provides with another signature (all of them, where
// Envoy names only the first), imported globals. An error means the bytes are not a readable
// WebAssembly module at all.
func Inspect(wasm []byte) (*ModuleInfo, error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, fmt.Errorf("parse module: %w", err)
	}
	sum := sha256.Sum256(wasm)
	info := &ModuleInfo{Size: len(wasm), SHA256: hex.EncodeToString(sum[:])}
	exports := map[string]bool{}
	for _, e := range m.Exports {
		info.Exports = append(info.Exports, e.Name)
		exports[e.Name] = true
		if v, ok := abiExports[e.Name]; ok && e.Kind == wasmbin.KindFunc && info.ABIVersion == "" {
			info.ABIVersion = v
		}
	}
	info.Reactor = exports["_initialize"]
	if info.ABIVersion == "" {
		info.Problems = append(info.Problems, "missing or unknown Proxy-Wasm ABI version: the module exports none of proxy_abi_version_0_1_0, proxy_abi_version_0_2_0, proxy_abi_version_0_2_1")
	}
	if !exports["malloc"] && !exports["proxy_on_memory_allocate"] {
		info.Problems = append(info.Problems, "the module is missing a malloc function: it exports neither malloc nor proxy_on_memory_allocate")
	}
	if !exports["memory"] {
		info.Problems = append(info.Problems, "the module exports no memory named \"memory\"")
	}
	seen := map[Import]bool{}
	for _, imp := range m.Imports {
		key := Import{Module: imp.Module, Name: imp.Name}
		if !seen[key] {
			info.Imports = append(info.Imports, key)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		if p := importProblem(info.ABIVersion, imp); p != "" {
			info.Problems = append(info.Problems, p)
		}
	}
	sort.Slice(info.Imports, func(i, j int) bool {
		if info.Imports[i].Module != info.Imports[j].Module {
			return info.Imports[i].Module < info.Imports[j].Module
		}
		return info.Imports[i].Name < info.Imports[j].Name
	})
	return info, nil
}

func importProblem(abi string, imp wasmbin.Import) string {
	name := imp.Module + "." + imp.Name
	switch imp.Kind {
	case wasmbin.KindMemory, wasmbin.KindTable:
		return ""
	case wasmbin.KindGlobal:
		return "missing import: " + name + " (Envoy does not provide imported globals)"
	}
	want, ok := hostSignature(abi, imp.Module, imp.Name)
	if !ok {
		if abi != "" {
			for _, v := range []string{abi010, abi020, abi021} {
				if _, other := abiSpecificFuncs[v][imp.Name]; other && imp.Module == "env" {
					return fmt.Sprintf("missing import: %s (Envoy provides it only to ABI %s modules, this one is %s)", name, v, abi)
				}
			}
		}
		return "missing import: " + name
	}
	if !want.Equal(imp.Type) {
		return fmt.Sprintf("import type mismatch: %s, want: %s, but host exports: %s", name, imp.Type, want)
	}
	return ""
}
