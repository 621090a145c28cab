package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSandboxCommandErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		wantErr  string
		wantHelp bool
	}{
		{"stray argument", []string{"sandbox", "now"}, 2, "wasmesh sandbox: unexpected arguments [\"now\"]\n", false},
		{"base port too low", []string{"sandbox", "--base-port", "80", "--no-build"}, 1, "wasmesh sandbox: --base-port: base port 80: must be between 1024 and 65475\n", false},
		{"help", []string{"sandbox", "-h"}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			require.Equal(t, tt.code, code, stderr.String())
			if tt.wantHelp {
				require.Contains(t, stderr.String(), "usage: wasmesh sandbox [flags]")
				require.Contains(t, stderr.String(), "-base-port")
				return
			}
			require.Equal(t, tt.wantErr, stderr.String())
		})
	}
}
