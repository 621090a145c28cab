package chain_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
)

// maxBundleSize is issue 9's aim for build/wasmesh.wasm.
const maxBundleSize = 4_000_000

// TestModuleSize keeps the bundle within its size aim, and every built-in filter module free of
// the packages it was slimmed of (RATIONALE.md, "Module size"): fmt, encoding/json and gjson
// cost 0.3–0.9 MB each and creep back with one careless import.
func TestModuleSize(t *testing.T) {
	for _, name := range []string{"wasmesh", "router", "canary", "fault", "telemetry"} {
		t.Run(name, func(t *testing.T) {
			b := filtertest.Module(t, name)
			if name == "wasmesh" {
				require.LessOrEqual(t, len(b), maxBundleSize, "bundle size in bytes")
			}
			funcs := wasmFuncNames(t, b)
			require.NotEmpty(t, funcs, "the module has no name section")
			for _, f := range funcs {
				for _, pkg := range []string{"fmt.", "encoding_json.", "github.com_tidwall_"} {
					require.False(t, strings.HasPrefix(f, pkg), "%s.wasm links %s (%s)", name, strings.TrimSuffix(pkg, "."), f)
				}
			}
		})
	}
}

// wasmFuncNames returns the function names of a module's "name" custom section (the Go linker
// writes package paths with '/' as '_').
func wasmFuncNames(t *testing.T, b []byte) []string {
	t.Helper()
	require.Equal(t, "\x00asm", string(b[:4]))
	uleb := func(p []byte) (uint64, []byte) {
		v, n := binary.Uvarint(p)
		require.Positive(t, n)
		return v, p[n:]
	}
	for p := b[8:]; len(p) > 0; {
		id := p[0]
		size, rest := uleb(p[1:])
		sec, next := rest[:size], rest[size:]
		p = next
		if id != 0 {
			continue
		}
		n, sec := uleb(sec)
		if string(sec[:n]) != "name" {
			continue
		}
		for sub := sec[n:]; len(sub) > 0; {
			kind := sub[0]
			size, rest := uleb(sub[1:])
			body := rest[:size]
			sub = rest[size:]
			if kind != 1 { // function names
				continue
			}
			count, body := uleb(body)
			names := make([]string, 0, count)
			for range count {
				_, body = uleb(body) // function index
				var l uint64
				l, body = uleb(body)
				names = append(names, string(body[:l]))
				body = body[l:]
			}
			return names
		}
	}
	return nil
}
