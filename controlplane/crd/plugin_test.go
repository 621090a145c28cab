package crd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A WasmPlugin's failure policy defaults to Reload; failOpen is its older form and may not
// contradict it; spec.config has a documented size limit.
func TestWasmPluginFailurePolicyAndConfigLimit(t *testing.T) {
	plugin := func(extra string) string {
		return head + "kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  module: {sha256: " + strings.Repeat("a", 64) + "}\n" + extra
	}
	tests := []struct {
		name, extra, want, err string
	}{
		{name: "default", want: FailureReload},
		{name: "closed", extra: "  failurePolicy: Closed\n", want: FailureClosed},
		{name: "open", extra: "  failurePolicy: Open\n", want: FailureOpen},
		{name: "failOpen true", extra: "  failOpen: true\n", want: FailureOpen},
		{name: "failOpen false", extra: "  failOpen: false\n", want: FailureClosed},
		{name: "agreeing", extra: "  failurePolicy: Open\n  failOpen: true\n", want: FailureOpen},
		{name: "contradicting", extra: "  failurePolicy: Reload\n  failOpen: true\n",
			err: `t.yaml:7: document 1 (WasmPlugin "p"): spec.failOpen: true contradicts failurePolicy Reload: drop failOpen (failurePolicy replaces it)`},
		{name: "unknown", extra: "  failurePolicy: Retry\n",
			err: `t.yaml:6: document 1 (WasmPlugin "p"): spec.failurePolicy: "Retry" must be Reload (default), Closed or Open`},
		{name: "config too large", extra: "  config: \"" + strings.Repeat("x", MaxPluginConfigBytes) + "\"\n",
			err: `t.yaml:6: document 1 (WasmPlugin "p"): spec.config: 262146 bytes, more than the limit of 262144 (256 KiB): pass large data to the plugin another way (a file it fetches, shared data)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Decode("t.yaml", []byte(plugin(tt.extra)))
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, docs[0].Object.(*WasmPlugin).Spec.EffectiveFailurePolicy())
		})
	}
}
