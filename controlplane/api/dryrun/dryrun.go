package dryrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Runner dry-runs modules on testenv. Modules are kept as files named by their sha256 in a
// private folder, so testenv's per-process compiled-module cache serves every later run of the
// same module. It is safe for concurrent use.
type Runner struct {
	mu      sync.Mutex
	dir     string
	dirErr  error
	written map[string]bool
	closed  bool
}

var _ admission.DryRunner = (*Runner)(nil)

// New returns a Runner. Its module folder is created at the first dry run.
func New() *Runner { return &Runner{written: map[string]bool{}} }

// Close removes the Runner's module folder.
func (r *Runner) Close(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.dir == "" {
		return nil
	}
	dir := r.dir
	r.dir, r.written = "", map[string]bool{}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("dry run: remove module folder: %w", err)
	}
	return nil
}

// file returns the path of module (sha256 sum) in the module folder, writing it the first time.
func (r *Runner) file(sum string, module []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", errors.New("dry run: the runner is closed")
	}
	if r.dir == "" && r.dirErr == nil {
		r.dir, r.dirErr = os.MkdirTemp("", "wasmesh-dryrun-")
	}
	if r.dirErr != nil {
		return "", fmt.Errorf("dry run: module folder: %w", r.dirErr)
	}
	path := filepath.Join(r.dir, sum+".wasm")
	if r.written[sum] {
		return path, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, module, 0o600); err != nil {
		return "", fmt.Errorf("dry run: write module: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("dry run: write module: %w", err)
	}
	r.written[sum] = true
	return path, nil
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
	path, err := r.file(info.SHA256, module)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	logs := &logLines{}
	env, err := testenv.Start([]testenv.Filter{{Name: PluginName, Wasm: path, Config: config, RootID: rootID}},
		testenv.WithContext(ctx), testenv.WithLogOutput(logs), testenv.WithNodeID(NodeID),
		testenv.WithStartTime(time.Now().UTC()))
	if err == nil {
		_ = env.Close()
		return logs.lines, nil
	}
	return logs.lines, explain(ctx, err, filepath.Dir(path)+string(filepath.Separator))
}

// explain turns testenv's start error into the dry run's: a refusal wraps admission.ErrPluginRefused,
// an interrupted run says so; the plugin's log lines are left to the caller (DryRun returns
// them), and the private module folder is left out of messages.
func explain(ctx context.Context, err error, dir string) error {
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
	msg = strings.ReplaceAll(msg, dir, "")
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
