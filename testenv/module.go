package testenv

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Runtime is a wazero runtime with the host modules Envoy provides (every proxy_* function,
// wasi_unstable and wasi_snapshot_preview1): it compiles each module once, by content, and
// instantiates one anonymous instance of it per VM. The caller owns it: make one with
// NewRuntime, start any number of Envs and Pools on it (it is safe for concurrent use), and
// Close it after them.
type Runtime struct {
	rt            wazero.Runtime
	interruptible bool

	mu       sync.Mutex
	compiled map[[sha256.Size]byte]*compiled
	closed   bool
}

// compiled is one module compiled once per Runtime.
type compiled struct {
	once sync.Once
	mod  wazero.CompiledModule
	info *ModuleInfo
	err  error
}

// RuntimeConfig configures a Runtime. The zero value compiles in memory only and cannot bound
// calls by a context.
type RuntimeConfig struct {
	// CacheDir is the directory of wazero's compilation cache on disk, shared by every Runtime
	// (and process) that names it; "" keeps compiled code in memory only. DefaultCacheDir is
	// the project's usual choice.
	CacheDir string
	// Interruptible makes the compiled code check whether the context of the running call has
	// ended (somewhat slower): an Env started with WithContext needs it, so that a plugin that
	// never returns is stopped (the control plane's dry run); benchmarks and tests do not.
	Interruptible bool
}

// DefaultCacheDir is the project's directory for wazero's compilation cache: $WASMESH_CACHE_DIR
// if set, else <user cache dir>/wasmesh/wazero; "" (in memory only) when the user has no cache
// directory.
func DefaultCacheDir() string {
	if d := os.Getenv("WASMESH_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "wasmesh", "wazero")
}

// ErrCacheDir is wrapped by NewRuntime's error when the compilation cache directory cannot be
// used (it cannot be created, or is not a directory).
var ErrCacheDir = errors.New("compilation cache directory")

// NewRuntime makes a Runtime: a wazero runtime (with the compilation cache cfg names) and the
// host modules.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	wcfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(cfg.Interruptible)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrCacheDir, cfg.CacheDir, err)
		}
		wcfg = wcfg.WithCompilationCache(cache)
	}
	r := &Runtime{rt: wazero.NewRuntimeWithConfig(ctx, wcfg), interruptible: cfg.Interruptible, compiled: map[[sha256.Size]byte]*compiled{}}
	if err := r.instantiateHost(ctx); err != nil {
		_ = r.rt.Close(ctx)
		return nil, fmt.Errorf("instantiate host modules: %w", err)
	}
	return r, nil
}

// Close frees the Runtime: its compiled modules and the instances of every Env started on it
// (close those first; their VMs stop working).
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.rt.Close(ctx)
}

// instantiateHost defines env (every proxy_* function of every ABI version: a module is checked
// against its own version's set before it is instantiated), wasi_unstable and
// wasi_snapshot_preview1.
func (r *Runtime) instantiateHost(ctx context.Context) error {
	env := r.rt.NewHostModuleBuilder("env")
	defined := map[string]bool{}
	define := func(b wazero.HostModuleBuilder, module, name, signature string) error {
		impl, ok := hostImpls[name]
		if module != "env" {
			impl, ok = wasiImpls[name]
		}
		if !ok {
			return fmt.Errorf("no implementation of %s.%s", module, name)
		}
		ft := sig(signature)
		params := make([]api.ValueType, len(ft.Params))
		for i, p := range ft.Params {
			params[i] = api.ValueType(p)
		}
		results := make([]api.ValueType, len(ft.Results))
		for i, p := range ft.Results {
			results[i] = api.ValueType(p)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(wrapHost(module+"."+name, impl), params, results).Export(name)
		return nil
	}
	for name, s := range proxyFuncs {
		if err := define(env, "env", name, s); err != nil {
			return err
		}
		defined[name] = true
	}
	for _, fns := range abiSpecificFuncs {
		for name, s := range fns {
			if defined[name] {
				continue
			}
			defined[name] = true
			if err := define(env, "env", name, s); err != nil {
				return err
			}
		}
	}
	if _, err := env.Instantiate(ctx); err != nil {
		return err
	}
	for _, module := range []string{wasiUnstable, wasiSnapshot} {
		b := r.rt.NewHostModuleBuilder(module)
		for name, s := range wasiFuncs {
			if err := define(b, module, name, s); err != nil {
				return err
			}
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ErrRefused is wrapped by load errors for modules stock Envoy would not load.
var ErrRefused = errors.New("stock Envoy 1.40 would refuse this module")

// errRuntimeClosed is the error of a Start on a closed Runtime.
var errRuntimeClosed = errors.New("the testenv Runtime is closed")

// load compiles module once per Runtime (per content).
func (r *Runtime) load(module []byte) (*compiled, error) {
	sum := sha256.Sum256(module)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errRuntimeClosed
	}
	c, ok := r.compiled[sum]
	if !ok {
		c = &compiled{}
		r.compiled[sum] = c
	}
	r.mu.Unlock()
	c.once.Do(func() {
		info, err := Inspect(module)
		if err != nil {
			c.err = err
			return
		}
		c.info = info
		if len(info.Problems) > 0 {
			c.err = fmt.Errorf("%w:\n  %s", ErrRefused, strings.Join(info.Problems, "\n  "))
			return
		}
		if info.ABIVersion == abi010 {
			c.err = errors.New("proxy-wasm ABI 0.1.0 modules are not supported by testenv (Envoy loads them; rebuild with a 0.2.x SDK)")
			return
		}
		c.mod, c.err = r.rt.CompileModule(context.Background(), module)
		if c.err != nil {
			c.err = fmt.Errorf("compile: %w", c.err)
		}
	})
	return c, c.err
}
