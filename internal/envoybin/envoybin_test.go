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

// FindNear finds a checkout's project-local Envoy from a directory inside it, whatever the
// working directory (wasmesh replay --envoy run from elsewhere).
func TestFindNearProjectInstall(t *testing.T) {
	real, err := Find("")
	require.NoError(t, err)
	repo := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module github.com/wasmesh/wasmesh\n\ngo 1.26\n"), 0o644))
	bin := filepath.Join(repo, ".tools/envoy-venv/lib/python3.11/site-packages/envoy/_bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	require.NoError(t, os.Symlink(real.Path, filepath.Join(bin, "envoy")))
	cases := filepath.Join(repo, "filters", "mine", "testdata")
	require.NoError(t, os.MkdirAll(cases, 0o755))

	t.Setenv("ENVOY_BIN", "")
	t.Setenv("PATH", t.TempDir()) // no envoy on PATH
	t.Chdir(t.TempDir())          // outside any checkout
	b, err := FindNear(cases)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(bin, "envoy"), b.Path)
	require.Equal(t, real.Version, b.Version)
	require.Equal(t, repo, RepoRootFrom(cases))
}
