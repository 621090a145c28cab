package admission

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/internal/memmodules"
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

// The dry run stage runs each created or changed WasmPlugin once, with its configuration as
// Envoy hands it over, and reports a refusal on spec.config (with the plugin's log) and a
// module Envoy would not load on spec.module.
func TestPluginDryRun(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	runner := &fakeRunner{}
	mods := &memmodules.Store{}
	p := New(Config{Store: st, Modules: FetchModules(mods, FetchOptions{}), DryRun: PluginDryRun(mods, runner)})
	ctx := context.Background()
	sha, _, err := mods.Put(ctx, bytes.NewReader([]byte("\x00asm\x01\x00\x00\x00")), "")
	require.NoError(t, err)
	apply := func(y string) error {
		_, err := p.Apply(ctx, Inputs(decodeAs(t, "p.yaml", y)...), false)
		return err
	}

	plugin := func(name, config string) string {
		return head + "kind: WasmPlugin\nmetadata: {name: " + name + "}\nspec:\n  module: {sha256: " + sha + "}\n  rootId: key\n  config: " + config + "\n"
	}
	require.NoError(t, apply(plugin("good", "{keys: [a]}")))
	require.Equal(t, []string{`8 bytes, root "key", config {"keys":["a"]}`}, runner.calls)

	// Only changed plugins run again; a string config is passed as its content.
	require.NoError(t, apply(plugin("good", "{keys: [a]}")+"---\n"+plugin("text", `"k=v"`)))
	require.Equal(t, `8 bytes, root "key", config k=v`, runner.calls[1])
	require.Len(t, runner.calls, 2)

	err = apply(plugin("refused", "{keys: [bad]}"))
	require.EqualError(t, err, `p.yaml:7: document 1 (WasmPlugin "refused"): spec.config: the plugin refused its configuration (on_configure returned false); plugin log:
  [info] starting
  [critical] config: keys[0]: must not be empty`)
	_, err = st.Get(crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "refused"})
	require.ErrorIs(t, err, store.ErrNotFound)

	// A module Envoy would not load is the module's problem, not the config's.
	err = apply(plugin("noload", "{keys: [noload]}"))
	require.EqualError(t, err, `p.yaml:5: document 1 (WasmPlugin "noload"): spec.module: stock Envoy would not load this module:
  missing import: env.nope`)
}
