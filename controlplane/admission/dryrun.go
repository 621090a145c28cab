package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// DryRunner loads a Wasm module the way Envoy would and runs VM start and plugin start with a
// configuration. It returns the plugin's log lines; err is non-nil when the module fails to
// load (wrapping ErrModuleRefused when Envoy would not load it) or the plugin refuses its
// configuration (wrapping ErrPluginRefused), traps or does not return in time.
type DryRunner interface {
	DryRun(ctx context.Context, module []byte, rootID string, config []byte) (logs []string, err error)
}

// ErrPluginRefused is what a DryRunner wraps when the plugin's configure callback fails.
var ErrPluginRefused = errors.New("the plugin refused its configuration")

// ErrModuleRefused is what a DryRunner wraps when stock Envoy would not load the module at all
// (not WebAssembly, imports Envoy does not provide, no proxy-wasm ABI version).
var ErrModuleRefused = errors.New("stock Envoy would not load this module")

// PluginDryRun returns the dry run stage: every created or changed WasmPlugin's module (from
// modules) is loaded by runner and configured with spec.config. A module Envoy would not load
// is reported on spec.module; anything else (a refusal, a trap) on spec.config, with the
// plugin's own log lines.
func PluginDryRun(modules Modules, runner DryRunner) crd.Checker {
	return crd.CheckerFunc(func(ctx context.Context, set *crd.Set, changed []crd.Key) error {
		var errs []error
		for _, p := range set.WasmPlugins {
			key := crd.KeyOf(p)
			if !slices.Contains(changed, key) {
				continue
			}
			code, err := modules.Get(p.Spec.Module.SHA256)
			if err != nil {
				errs = append(errs, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: "spec.module", Err: err}})
				continue
			}
			logs, err := runner.DryRun(ctx, code, p.Spec.RootID, pluginConfig(p.Spec.Config))
			if err == nil {
				continue
			}
			path := "spec.config"
			if errors.Is(err, ErrModuleRefused) {
				path = "spec.module"
			}
			if len(logs) > 0 {
				err = fmt.Errorf("%w; plugin log:\n  %s", err, strings.Join(logs, "\n  "))
			}
			errs = append(errs, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: path, Err: err}})
		}
		return errors.Join(errs...)
	})
}

// pluginConfig is the configuration bytes Envoy hands the plugin: a JSON string is passed as
// its content, anything else as JSON.
func pluginConfig(raw []byte) []byte {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return []byte(s)
		}
	}
	return raw
}
