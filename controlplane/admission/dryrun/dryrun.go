package dryrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/testenv"
)

// Timeout bounds one dry run (compilation included).
const Timeout = 30 * time.Second

// PluginName is the plugin_name a dry-run plugin sees (the dry run does not know the
// WasmPlugin's name).
const PluginName = "dry-run"

// NodeID is the node id of a dry run: no real node runs it, and the xds.node.* properties
// Envoy provides are absent (testenv gives them only with node metadata), so a plugin may tell
// a dry run from a sidecar.
const NodeID = "wasmesh-dry-run"

// Runner dry-runs modules on its own testenv Runtime (interruptible, so a time limit stops a
// plugin that never returns), which compiles each module once by content: a later dry run of
// the same module costs one VM instantiation. It is safe for concurrent use.
type Runner struct {
	rt           *testenv.Runtime
	cacheProblem string

	mu     sync.RWMutex // held for reading by a dry run, for writing by Close
	closed bool
}

var _ admission.DryRunner = (*Runner)(nil)

// New returns a Runner whose Runtime keeps wazero's compilation cache in cacheDir ("": in
// memory only; testenv.DefaultCacheDir is the usual choice). Close it when done.
func New(ctx context.Context, cacheDir string) (*Runner, error) {
	cfg := testenv.RuntimeConfig{CacheDir: cacheDir, Interruptible: true}
	rt, err := testenv.NewRuntime(ctx, cfg)
	r := &Runner{rt: rt}
	if errors.Is(err, testenv.ErrCacheDir) {
		// A read-only home (a container's) costs compile time, not the dry run.
		r.cacheProblem = fmt.Sprintf("%v; compiling in memory (set WASMESH_CACHE_DIR to a writable directory to keep compiled modules)", err)
		cfg.CacheDir = ""
		r.rt, err = testenv.NewRuntime(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	return r, nil
}

// CacheProblem says why the compilation cache directory New was given is not used ("" when it
// is): the Runner then compiles in memory, each module once per process.
func (r *Runner) CacheProblem() string { return r.cacheProblem }

// Close waits for the dry runs in progress and frees the Runner's Runtime; later dry runs fail.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.rt.Close(ctx); err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	return nil
}

// DryRun loads module as stock Envoy 1.40 would, then starts it under testenv: _initialize,
// root context, proxy_on_vm_start and proxy_on_configure with config. It returns the plugin's
// log lines ("[level] message"; stdout is logged at info, stderr at error, as Envoy does). The
// error wraps admission.ErrModuleRefused when Envoy would not load the module (every missing import
// is named) and admission.ErrPluginRefused when the plugin refuses its configuration.
func (r *Runner) DryRun(ctx context.Context, module []byte, rootID string, config []byte) ([]string, error) {
	info, err := testenv.Inspect(module)
	if err != nil {
		return nil, fmt.Errorf("%w: load module: %w", admission.ErrModuleRefused, err)
	}
	if len(info.Problems) > 0 {
		return nil, fmt.Errorf("%w:\n  %s", admission.ErrModuleRefused, strings.Join(info.Problems, "\n  "))
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, errors.New("dry run: the runner is closed")
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	logs := &logLines{}
	env, err := r.rt.Start([]testenv.Filter{{Name: PluginName, Module: module, Config: config, RootID: rootID}},
		testenv.WithContext(ctx), testenv.WithLogOutput(logs), testenv.WithNodeID(NodeID),
		testenv.WithStartTime(time.Now().UTC()))
	if err == nil {
		_ = env.Close()
		return logs.lines, nil
	}
	return logs.lines, explain(ctx, err)
}

// explain turns testenv's start error into the dry run's: a refusal wraps admission.ErrPluginRefused,
// an interrupted run says so; the plugin's log lines are left to the caller (DryRun returns
// them).
func explain(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the plugin did not finish starting within the dry run's time limit: %w", ctx.Err())
	case ctx.Err() != nil:
		return fmt.Errorf("dry run: %w", ctx.Err())
	case errors.Is(err, testenv.ErrConfigureRefused):
		return fmt.Errorf("%w (proxy_on_configure returned false)", admission.ErrPluginRefused)
	case errors.Is(err, testenv.ErrVMStartRefused):
		return errors.New("the plugin's VM failed to start (proxy_on_vm_start returned false)")
	}
	msg := err.Error()
	if i := strings.Index(msg, "\n  ["); i >= 0 { // testenv quotes the error log lines: DryRun returns them all
		msg = msg[:i]
	}
	msg = strings.ReplaceAll(msg, fmt.Sprintf("filter %q: ", PluginName), "")
	if errors.Is(err, testenv.ErrRefused) {
		return &cleanError{msg: msg, err: admission.ErrModuleRefused}
	}
	return &cleanError{msg: "the plugin failed to start: " + msg, err: err}
}

// cleanError is an error with a rewritten message that still unwraps to its cause.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// logLines collects what testenv.WithLogOutput writes: one "[level] <plugin>: message\n" per
// Write, kept as "[level] message".
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	if i := strings.Index(line, "] "); strings.HasPrefix(line, "[") && i > 0 {
		line = line[:i+2] + strings.TrimPrefix(line[i+2:], PluginName+": ")
	}
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return len(p), nil
}
