package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// runtime is the process-wide wazero runtime: host modules are instantiated once, compiled
// modules are shared by every Env, and each VM is an anonymous instance of its compiled module.
type runtime struct {
	rt wazero.Runtime

	mu       sync.Mutex
	compiled map[string]*compiled // by path + "@" + sha256
}

// compiled is one module compiled once per process.
type compiled struct {
	once sync.Once
	mod  wazero.CompiledModule
	info *ModuleInfo
	err  error
}

// The process-wide runtimes: [0] plain, [1] interruptible (WithContext: compiled code checks
// for the context's end, which costs some speed).
var (
	rtOnce [2]sync.Once
	rtVal  [2]*runtime
	rtErr  [2]error
)

// CacheDir is the directory of wazero's compilation cache: $WASMESH_CACHE_DIR if set, else
// <user cache dir>/wasmesh/wazero.
func CacheDir() (string, error) {
	if d := os.Getenv("WASMESH_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("compilation cache: %w (set WASMESH_CACHE_DIR)", err)
	}
	return filepath.Join(d, "wasmesh", "wazero"), nil
}

func getRuntime(interruptible bool) (*runtime, error) {
	i := 0
	if interruptible {
		i = 1
	}
	rtOnce[i].Do(func() { rtVal[i], rtErr[i] = newRuntimeWith(interruptible) })
	return rtVal[i], rtErr[i]
}

// interruptible reports whether opts bound the VMs by a context (WithContext).
func interruptible(opts []Option) bool {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o.ctx != nil
}

// newRuntime makes a runtime with the on-disk compilation cache and the host modules.
func newRuntime() (*runtime, error) { return newRuntimeWith(false) }

// newRuntimeWith is newRuntime; an interruptible runtime's calls end when their context does.
func newRuntimeWith(interruptible bool) (*runtime, error) {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(interruptible)
	if dir, err := CacheDir(); err == nil {
		if cache, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			cfg = cfg.WithCompilationCache(cache)
		}
	}
	r := &runtime{rt: wazero.NewRuntimeWithConfig(ctx, cfg), compiled: map[string]*compiled{}}
	if err := r.instantiateHost(ctx); err != nil {
		_ = r.rt.Close(ctx)
		return nil, fmt.Errorf("instantiate host modules: %w", err)
	}
	return r, nil
}

// instantiateHost defines env (every proxy_* function of every ABI version: a module is checked
// against its own version's set before it is instantiated), wasi_unstable and
// wasi_snapshot_preview1.
func (r *runtime) instantiateHost(ctx context.Context) error {
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

// load reads and compiles path once per process (per content).
func (r *runtime) load(path string) (*compiled, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	sum := sha256.Sum256(b)
	key := path + "@" + hex.EncodeToString(sum[:])
	r.mu.Lock()
	c, ok := r.compiled[key]
	if !ok {
		c = &compiled{}
		r.compiled[key] = c
	}
	r.mu.Unlock()
	c.once.Do(func() {
		info, err := Inspect(b)
		if err != nil {
			c.err = fmt.Errorf("%s: %w", path, err)
			return
		}
		c.info = info
		if len(info.Problems) > 0 {
			c.err = fmt.Errorf("%s: %w:\n  %s", path, ErrRefused, strings.Join(info.Problems, "\n  "))
			return
		}
		if info.ABIVersion == abi010 {
			c.err = fmt.Errorf("%s: proxy-wasm ABI 0.1.0 modules are not supported by testenv (Envoy loads them; rebuild with a 0.2.x SDK)", path)
			return
		}
		c.mod, c.err = r.rt.CompileModule(context.Background(), b)
		if c.err != nil {
			c.err = fmt.Errorf("%s: compile: %w", path, c.err)
		}
	})
	return c, c.err
}
