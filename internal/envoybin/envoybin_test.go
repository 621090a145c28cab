package envoybin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewEnough(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"1.40.0", true}, {"1.39.1", true}, {"1.38.9", false}, {"2.0.0", true}, {"", false}, {"x", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			require.Equal(t, tt.want, newEnough(tt.version))
		})
	}
}

func TestFindRejectsBadEnvoyBin(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "envoy")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho 'envoy  version: abc/1.30.2/Clean/RELEASE/BoringSSL'\n"), 0o755))
	t.Setenv("ENVOY_BIN", fake)
	_, err := Find("")
	require.EqualError(t, err, "ENVOY_BIN="+fake+" is Envoy 1.30.2; Go wasip1 filters need Envoy >= 1.39")
}

// TestFindsRealEnvoy runs under `make test`, which installs Envoy and exports ENVOY_BIN.
func TestFindsRealEnvoy(t *testing.T) {
	b, err := Find("")
	require.NoError(t, err)
	require.True(t, newEnough(b.Version), b.Version)
}
