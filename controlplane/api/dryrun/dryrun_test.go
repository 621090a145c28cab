package dryrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	cpapi "github.com/wasmesh/wasmesh/controlplane/api"
)

func module(t *testing.T, name string) []byte {
	t.Helper()
	p := filepath.Join("..", "..", "..", "build", name+".wasm")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s is missing: run make build (%v)", p, err)
	}
	return b
}

func TestDryRun(t *testing.T) {
	r := New()
	defer r.Close(context.Background())
	check := module(t, "configcheck")
	tests := []struct {
		name    string
		module  []byte
		config  string
		logs    []string
		wantErr string
	}{
		{
			name: "accepted", module: check, config: `{"header":"x-api-key"}`,
			logs: []string{"[info] configcheck: starting", `[info] configcheck: header "x-api-key"`},
		},
		{
			name: "refused", module: check, config: `{"header":""}`,
			logs:    []string{"[info] configcheck: starting", "[critical] configcheck: header: required"},
			wantErr: "the plugin refused its configuration (proxy_on_configure returned false)",
		},
		{
			name: "not json", module: check, config: `header=x`,
			logs:    []string{"[info] configcheck: starting", "[critical] configcheck: configuration is not a JSON object: invalid character 'h' looking for beginning of value"},
			wantErr: "the plugin refused its configuration (proxy_on_configure returned false)",
		},
		{
			name: "a plugin without a configure hook accepts anything", module: module(t, "hello"), config: `{"anything": 1}`,
		},
		{
			name: "not wasm", module: []byte("\x00asm\x01\x00\x00\x00"), config: `{}`,
			wantErr: "not a proxy-wasm module: it does not export proxy_on_context_create",
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
			require.EqualError(t, err, tt.wantErr)
			if tt.name == "refused" {
				require.ErrorIs(t, err, cpapi.ErrPluginRefused)
			}
		})
	}
}

func TestDryRunGarbage(t *testing.T) {
	_, err := New().DryRun(context.Background(), []byte("hello"), "", nil)
	require.ErrorContains(t, err, "load module: ")
}
