package testenv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

type testImport struct {
	module, name, sig string // sig as in abi.go: "WW:W"
	global            bool
}

// buildModule writes a minimal WebAssembly module: the imports given, one empty function
// exported under every name in funcs, and (if memory) one page exported as "memory".
func buildModule(imports []testImport, funcs []string, memory bool) []byte {
	vec := func(items ...[]byte) []byte {
		out := leb(uint32(len(items)))
		for _, it := range items {
			out = append(out, it...)
		}
		return out
	}
	name := func(s string) []byte { return append(leb(uint32(len(s))), s...) }
	section := func(id byte, body []byte) []byte {
		return append(append([]byte{id}, leb(uint32(len(body)))...), body...)
	}
	types := [][]byte{{0x60, 0, 0}}
	var imps [][]byte
	nfunc := 0
	for _, im := range imports {
		if im.global {
			imps = append(imps, append(append(name(im.module), name(im.name)...), 3, 0x7f, 0))
			continue
		}
		ft := sig(im.sig)
		t := []byte{0x60, byte(len(ft.Params))}
		for _, p := range ft.Params {
			t = append(t, byte(p))
		}
		t = append(t, byte(len(ft.Results)))
		for _, r := range ft.Results {
			t = append(t, byte(r))
		}
		types = append(types, t)
		imps = append(imps, append(append(append(name(im.module), name(im.name)...), 0), leb(uint32(len(types)-1))...))
		nfunc++
	}
	var exps [][]byte
	for _, f := range funcs {
		exps = append(exps, append(append(name(f), 0), leb(uint32(nfunc))...))
	}
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, section(1, vec(types...))...)
	b = append(b, section(2, vec(imps...))...)
	b = append(b, section(3, vec([]byte{0}))...)
	if memory {
		b = append(b, section(5, vec([]byte{0, 1}))...)
		exps = append(exps, append(name("memory"), 2, 0))
	}
	b = append(b, section(7, vec(exps...))...)
	b = append(b, section(10, vec([]byte{2, 0, 0x0b}))...)
	return b
}

func leb(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

func TestInspectProblems(t *testing.T) {
	base := []string{"_initialize", "proxy_on_memory_allocate"}
	tests := []struct {
		name     string
		imports  []testImport
		funcs    []string
		memory   bool
		abi      string
		problems []string
	}{
		{name: "0.2.1 may import proxy_get_log_level", imports: []testImport{{module: "env", name: "proxy_get_log_level", sig: "W:W"}},
			funcs: append(base, "proxy_abi_version_0_2_1"), memory: true, abi: "0.2.1"},
		{name: "0.2.0 may not", imports: []testImport{{module: "env", name: "proxy_get_log_level", sig: "W:W"}, {module: "env", name: "proxy_log", sig: "WWW:W"}},
			funcs: append(base, "proxy_abi_version_0_2_0"), memory: true, abi: "0.2.0",
			problems: []string{"missing import: env.proxy_get_log_level (Envoy provides it only to ABI 0.2.1 modules, this one is 0.2.0)"}},
		{name: "WASI path_link as WASI declares it does not link in Envoy", imports: []testImport{{module: "wasi_snapshot_preview1", name: "path_link", sig: "WWWWWWW:W"}},
			funcs: append(base, "proxy_abi_version_0_2_0"), memory: true, abi: "0.2.0",
			problems: []string{"import type mismatch: wasi_snapshot_preview1.path_link, want: i32 i32 i32 i32 i32 i32 i32 -> i32, but host exports: i32 i32 i32 i32 i32 i32 -> i32"}},
		{name: "every problem at once", imports: []testImport{{module: "env", name: "x", sig: ":"}, {module: "wasi_unstable", name: "fd_write", sig: "W:W"}, {module: "env", name: "g", global: true}},
			funcs: []string{"_start"}, abi: "",
			problems: []string{
				"missing or unknown Proxy-Wasm ABI version: the module exports none of proxy_abi_version_0_1_0, proxy_abi_version_0_2_0, proxy_abi_version_0_2_1",
				"the module is missing a malloc function: it exports neither malloc nor proxy_on_memory_allocate",
				"the module exports no memory named \"memory\"",
				"missing import: env.x",
				"import type mismatch: wasi_unstable.fd_write, want: i32 -> i32, but host exports: i32 i32 i32 i32 -> i32",
				"missing import: env.g (Envoy does not provide imported globals)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := buildModule(tt.imports, tt.funcs, tt.memory)
			info, err := Inspect(b)
			require.NoError(t, err)
			require.Equal(t, tt.abi, info.ABIVersion)
			require.Equal(t, tt.problems, info.Problems)
			require.Equal(t, len(b), info.Size)
			if len(tt.problems) > 0 {
				_, err := startEnv(t, []Filter{{Module: b}})
				require.ErrorIs(t, err, ErrRefused)
				for _, pr := range tt.problems {
					require.ErrorContains(t, err, pr)
				}
			}
		})
	}
}
