package api

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

type fakeRunner struct{ calls []string }

func (f *fakeRunner) DryRun(_ context.Context, module []byte, rootID string, config []byte) ([]string, error) {
	f.calls = append(f.calls, fmt.Sprintf("%d bytes, root %q, config %s", len(module), rootID, config))
	if strings.Contains(string(config), "noload") {
		return nil, fmt.Errorf("%w:\n  missing import: env.nope", ErrModuleRefused)
	}
	if strings.Contains(string(config), "bad") {
		return []string{"[info] starting", "[critical] config: keys[0]: must not be empty"}, fmt.Errorf("%w (on_configure returned false)", ErrPluginRefused)
	}
	return nil, nil
}

func TestPluginDryRun(t *testing.T) {
	runner := &fakeRunner{}
	mods := &memModules{m: map[string][]byte{}}
	e := newEnv(t, PluginDryRun(mods, runner))
	ctx := context.Background()
	// The env's server has its own module store; upload to it and mirror into the checker's.
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	sha, err := e.client.PutModule(ctx, wasm)
	require.NoError(t, err)
	_, _, err = mods.Put(ctx, bytes.NewReader(wasm), "")
	require.NoError(t, err)

	plugin := func(name, config string) string {
		return head + "kind: WasmPlugin\nmetadata: {name: " + name + "}\nspec:\n  module: {sha256: " + sha + "}\n  rootId: key\n  config: " + config + "\n"
	}
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", plugin("good", "{keys: [a]}")), false)
	require.NoError(t, err)
	require.Equal(t, []string{`8 bytes, root "key", config {"keys":["a"]}`}, runner.calls)

	// Only changed plugins run again; a string config is passed as its content.
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", plugin("good", "{keys: [a]}")+"---\n"+plugin("text", `"k=v"`)), false)
	require.NoError(t, err)
	require.Equal(t, `8 bytes, root "key", config k=v`, runner.calls[1])
	require.Len(t, runner.calls, 2)

	_, err = e.client.Apply(ctx, decode(t, "p.yaml", plugin("refused", "{keys: [bad]}")), false)
	require.EqualError(t, err, `p.yaml:7: document 1 (WasmPlugin "refused"): spec.config: the plugin refused its configuration (on_configure returned false); plugin log:
  [info] starting
  [critical] config: keys[0]: must not be empty`)
	_, err = e.store.Get(crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "refused"})
	require.ErrorIs(t, err, ErrNotFound)

	// A module Envoy would not load is the module's problem, not the config's.
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", plugin("noload", "{keys: [noload]}")), false)
	require.EqualError(t, err, `p.yaml:5: document 1 (WasmPlugin "noload"): spec.module: stock Envoy would not load this module:
  missing import: env.nope`)
}
