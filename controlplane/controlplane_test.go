package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/observe"
)

func TestStartServesAPIAndModules(t *testing.T) {
	builtin := []byte("\x00asm\x01\x00\x00\x00builtin")
	modDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(modDir, "wasmesh.wasm"), builtin, 0o644))
	cp, err := Start(context.Background(), Config{DataDir: t.TempDir(), HTTPAddress: "127.0.0.1:0", XDSAddress: "127.0.0.1:0", ModulesDir: modDir})
	require.NoError(t, err)
	defer func() { require.NoError(t, cp.Close()) }()

	sum := sha256.Sum256(builtin)
	require.Equal(t, map[string]string{"wasmesh.wasm": hex.EncodeToString(sum[:])}, cp.Builtins)

	uploaded := []byte("\x00asm\x01\x00\x00\x00uploaded")
	sha, err := cp.Client().PutModule(context.Background(), uploaded)
	require.NoError(t, err)

	get := func(path string) (int, []byte) {
		resp, err := http.Get("http://" + cp.HTTPAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	code, body := get("/modules/" + sha)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, uploaded, body)
	code, body = get("/modules/" + hex.EncodeToString(sum[:]))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, builtin, body)
	code, _ = get("/modules/" + hex.EncodeToString(make([]byte, 32)))
	require.Equal(t, http.StatusNotFound, code)
	code, _ = get("/modules/../token")
	require.Equal(t, http.StatusNotFound, code)

	// The API needs the token; the module server does not.
	code, _ = get("/api/v1/status")
	require.Equal(t, http.StatusUnauthorized, code)
	_, err = cp.Client().Status(context.Background())
	require.NoError(t, err)
}

func TestScrapeTargets(t *testing.T) {
	nodes := []api.SidecarStatus{
		{ID: "a", Service: "reviews", Version: "v1", Connected: true, AdminAddress: "127.0.0.1:15000", PeerAddress: "127.0.0.1:5555"},
		{ID: "b", Service: "ratings", Version: "v1", Connected: true, AdminAddress: "0.0.0.0:15000", PeerAddress: "10.77.0.14:40000"},
		{ID: "c", Connected: false, AdminAddress: "127.0.0.1:15001"},
		{ID: "d", Connected: true},
	}
	require.Equal(t, []observe.Target{
		{Node: "a", Service: "reviews", Version: "v1", Admin: "127.0.0.1:15000"},
		{Node: "b", Service: "ratings", Version: "v1", Admin: "10.77.0.14:15000"},
	}, ScrapeTargets(nodes))
}
