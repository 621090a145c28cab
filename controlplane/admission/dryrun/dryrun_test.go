package dryrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/testenv"
)

// newRunner is a Runner on the usual compilation cache, closed in t.Cleanup.
func newRunner(t testing.TB) *Runner {
	t.Helper()
	r, err := New(context.Background(), testenv.DefaultCacheDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func module(t testing.TB, name string) []byte {
	t.Helper()
	p := filepath.Join("..", "..", "..", "build", name+".wasm")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s is missing: run make build (%v)", p, err)
	}
	return b
}

// Instructions of the hand-assembled test modules (see tiny).
var (
	ret1        = []byte{0x41, 0x01}                               // i32.const 1
	ret0        = []byte{0x41, 0x00}                               // i32.const 0
	unreachable = []byte{0x00}                                     // trap
	spin        = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x41, 0x00} // loop br 0 end; i32.const 0: never returns
)

// logCritical is proxy_log(critical, message) with the message at address 0.
func logCritical(msg string) []byte {
	return []byte{0x41, 0x05, 0x41, 0x00, 0x41, byte(len(msg)), 0x10, 0x00, 0x1a}
}

// tiny assembles a minimal proxy-wasm 0.2.0 module: it imports proxy_log, keeps msg at address
// 0, and its proxy_on_vm_start and proxy_on_configure run the given instructions (which leave
// the i32 result, or trap).
func tiny(msg string, vmStart, configure []byte) []byte {
	leb := func(n int) []byte {
		var b []byte
		for {
			c := byte(n & 0x7f)
			n >>= 7
			if n != 0 {
				c |= 0x80
			}
			b = append(b, c)
			if n == 0 {
				return b
			}
		}
	}
	str := func(s string) []byte { return append(leb(len(s)), s...) }
	vec := func(items ...[]byte) []byte {
		b := leb(len(items))
		for _, it := range items {
			b = append(b, it...)
		}
		return b
	}
	section := func(id byte, content []byte) []byte {
		return append(append([]byte{id}, leb(len(content))...), content...)
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	i32 := byte(0x7f)
	functype := func(params, results []byte) []byte {
		return cat([]byte{0x60}, vec(bytesOf(params)...), vec(bytesOf(results)...))
	}
	body := func(code ...[]byte) []byte {
		b := cat(append([][]byte{{0x00}}, append(code, []byte{0x0b})...)...) // no locals
		return append(leb(len(b)), b...)
	}
	export := func(name string, kind byte, idx int) []byte { return cat(str(name), []byte{kind}, leb(idx)) }
	return cat([]byte("\x00asm\x01\x00\x00\x00"),
		section(1, vec(
			functype([]byte{i32, i32, i32}, []byte{i32}), // 0: proxy_log
			functype([]byte{i32}, []byte{i32}),           // 1: allocate
			functype([]byte{i32, i32}, nil),              // 2: context create
			functype([]byte{i32, i32}, []byte{i32}),      // 3: vm start, configure
			functype(nil, nil),                           // 4: ABI version
		)),
		section(2, vec(cat(str("env"), str("proxy_log"), []byte{0x00, 0x00}))),
		section(3, vec([]byte{1}, []byte{2}, []byte{3}, []byte{3}, []byte{4})),
		section(5, vec([]byte{0x00, 0x01})), // one page
		section(7, vec(
			export("memory", 2, 0),
			export("proxy_on_memory_allocate", 0, 1),
			export("proxy_on_context_create", 0, 2),
			export("proxy_on_vm_start", 0, 3),
			export("proxy_on_configure", 0, 4),
			export("proxy_abi_version_0_2_0", 0, 5),
		)),
		section(10, vec(
			body([]byte{0x41, 0x80, 0x08}), // allocate: always address 1024
			body(),
			body(vmStart),
			body(configure),
			body(),
		)),
		section(11, vec(cat([]byte{0x00, 0x41, 0x00, 0x0b}, str(msg)))),
	)
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func TestDryRun(t *testing.T) {
	r := newRunner(t)
	check := module(t, "configcheck")
	refusedErr := "the plugin refused its configuration (proxy_on_configure returned false)"
	tests := []struct {
		name    string
		module  []byte
		config  string
		logs    []string
		wantErr string
		is      error
	}{
		{
			name: "accepted", module: check, config: `{"header":"x-api-key"}`,
			logs: []string{"[info] configcheck: starting", `[info] configcheck: header "x-api-key"`},
		},
		{
			name: "refused", module: check, config: `{"header":""}`,
			logs:    []string{"[info] configcheck: starting", "[critical] configcheck: header: required"},
			wantErr: refusedErr, is: admission.ErrPluginRefused,
		},
		{
			name: "not json", module: check, config: `header=x`,
			logs:    []string{"[info] configcheck: starting", "[critical] configcheck: configuration is not a JSON object: invalid character 'h' looking for beginning of value"},
			wantErr: refusedErr, is: admission.ErrPluginRefused,
		},
		{
			name: "a plugin without a configure hook accepts anything", module: module(t, "hello"), config: `{"anything": 1}`,
		},
		{
			name: "the dry run is not a sidecar: no xds.node properties", module: module(t, "envoyonly"), config: `{}`,
		},
		{
			name: "imports stock Envoy lacks are all named", module: module(t, "tenv_badimport"), config: `{}`,
			wantErr: "stock Envoy would not load this module:\n  missing import: env.something_unknown\n  missing import: made_up_module.do_it",
			is:      admission.ErrModuleRefused,
		},
		{
			name: "a host call outside Envoy's start-up allowlist traps _initialize", module: module(t, "tenv_initcall"), config: `{}`,
			logs:    []string{"[info] tenv_initcall: logging is allowed during start"},
			wantErr: "the plugin failed to start: start the VM: _initialize: restricted_callback: env.proxy_get_property is not allowed here (Envoy allows only a few calls during VM start and proxy_on_memory_allocate)",
		},
		{
			name: "no proxy-wasm exports", module: []byte("\x00asm\x01\x00\x00\x00"), config: `{}`,
			wantErr: "stock Envoy would not load this module:\n  missing or unknown Proxy-Wasm ABI version: the module exports none of proxy_abi_version_0_1_0, proxy_abi_version_0_2_0, proxy_abi_version_0_2_1\n  the module is missing a malloc function: it exports neither malloc nor proxy_on_memory_allocate\n  the module exports no memory named \"memory\"",
			is:      admission.ErrModuleRefused,
		},
		{
			name: "hand-assembled: refused", module: tiny("tiny: no", ret1, append(logCritical("tiny: no"), ret0...)), config: `{}`,
			logs: []string{"[critical] tiny: no"}, wantErr: refusedErr, is: admission.ErrPluginRefused,
		},
		{
			name: "hand-assembled: accepted", module: tiny("tiny: fine", ret1, ret1), config: `{}`,
		},
		{
			name: "hand-assembled: VM start refused", module: tiny("tiny: vm", append(logCritical("tiny: vm"), ret0...), ret1), config: `{}`,
			logs: []string{"[critical] tiny: vm"}, wantErr: "the plugin's VM failed to start (proxy_on_vm_start returned false)",
		},
		{
			name: "hand-assembled: configure traps", module: tiny("tiny: about to trap", ret1, append(logCritical("tiny: about to trap"), unreachable...)), config: `{}`,
			logs:    []string{"[critical] tiny: about to trap"},
			wantErr: "the plugin failed to start: proxy_on_configure trapped: wasm error: unreachable\nwasm stack trace:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs, err := r.DryRun(context.Background(), tt.module, "", []byte(tt.config))
			require.Equal(t, tt.logs, logs)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			require.Equal(t, err.Error()[:len(tt.wantErr)], tt.wantErr, "the message starts so")
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			require.NotContains(t, err.Error(), os.TempDir(), "no private paths in messages")
		})
	}
}

func TestDryRunGarbage(t *testing.T) {
	r := newRunner(t)
	_, err := r.DryRun(context.Background(), []byte("hello"), "", nil)
	require.ErrorIs(t, err, admission.ErrModuleRefused)
	require.ErrorContains(t, err, "load module: ")
}

// TestDryRunTimeout: a plugin that never returns from proxy_on_configure is interrupted when
// the context ends, and the Runner keeps working.
func TestDryRunTimeout(t *testing.T) {
	r := newRunner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	logs, err := r.DryRun(ctx, tiny("tiny: spinning", ret1, append(logCritical("tiny: spinning"), spin...)), "", nil)
	require.EqualError(t, err, "the plugin did not finish starting within the dry run's time limit: context deadline exceeded")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, []string{"[critical] tiny: spinning"}, logs)

	_, err = r.DryRun(context.Background(), module(t, "configcheck"), "", []byte(`{"header":"h"}`))
	require.NoError(t, err)
}

// TestDryRunClose: Close frees the Runner's Runtime; a later dry run fails with a message.
func TestDryRunClose(t *testing.T) {
	r := newRunner(t)
	_, err := r.DryRun(context.Background(), module(t, "configcheck"), "", []byte(`{"header":"a"}`))
	require.NoError(t, err)
	require.NoError(t, r.Close(context.Background()))
	require.NoError(t, r.Close(context.Background()), "a second Close is a no-op")
	_, err = r.DryRun(context.Background(), module(t, "configcheck"), "", nil)
	require.EqualError(t, err, "dry run: the runner is closed")
}

// BenchmarkDryRun measures a repeated apply of a known module (compiled code cached): one VM
// instantiation, _initialize, VM start and configure.
func BenchmarkDryRun(b *testing.B) {
	r := newRunner(b)
	check := module(b, "configcheck")
	if _, err := r.DryRun(context.Background(), check, "", []byte(`{"header":"h"}`)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.DryRun(context.Background(), check, "", []byte(`{"header":"h"}`)); err != nil {
			b.Fatal(err)
		}
	}
}

// A compilation cache directory that cannot be used (a container's read-only home, here a
// path under a regular file) does not stop the control plane: the dry run compiles in memory
// and says why. The Compose sandbox's control plane, running as a user whose home is /,
// failed to start on it.
func TestUnusableCacheDirCompilesInMemory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	dir := filepath.Join(file, "wazero")
	r, err := New(context.Background(), dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	require.Contains(t, r.CacheProblem(), dir)
	require.Contains(t, r.CacheProblem(), "compiling in memory")
	_, err = r.DryRun(context.Background(), module(t, "configcheck"), "", []byte(`{"header":"a"}`))
	require.NoError(t, err)

	usable, err := New(context.Background(), t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = usable.Close(context.Background()) })
	require.Empty(t, usable.CacheProblem())
}
