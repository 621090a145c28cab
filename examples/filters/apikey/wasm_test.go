package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/examples/filters/apikey/apikey"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/replay"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

const config = `{"keys": [{"name": "team-a", "key": "s3cr3t-a1"}, {"name": "team-b", "key": "s3cr3t-b2"}], "exempt": {"path": {"prefix": "/healthz"}}}`

// module returns build/apikey.wasm; a missing module fails the test.
func module(t testing.TB) []byte {
	t.Helper()
	return testenvtest.Module(t, filepath.Join("..", "..", "..", "build", "apikey.wasm"))
}

func TestAPIKeyWasm(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{Name: "apikey", Module: module(t), Config: []byte(config)}})
	tests := []struct {
		name       string
		req        testenv.Request
		wantStatus int
		wantClient string // "" = must not reach the upstream
	}{
		{"valid key", testenv.Request{Path: "/items", Headers: testenv.Headers{{"x-api-key", "s3cr3t-a1"}}}, 200, "team-a"},
		{"missing key", testenv.Request{Path: "/items"}, 401, ""},
		{"wrong key", testenv.Request{Path: "/items", Headers: testenv.Headers{{"x-api-key", "s3cr3t-a"}}}, 403, ""},
		{"exempt", testenv.Request{Path: "/healthz"}, 200, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.Do(tt.req)
			require.NoError(t, res.Err)
			require.Equal(t, tt.wantStatus, res.Response.Status)
			switch tt.wantClient {
			case "":
				require.Nil(t, res.Upstream)
				require.True(t, res.LocalReply)
			case "-":
				require.NotNil(t, res.Upstream)
			default:
				require.Equal(t, tt.wantClient, res.Upstream.Headers.Get("x-api-client"))
				require.Empty(t, res.Upstream.Headers.Values("x-api-key"), "the key is not forwarded")
			}
		})
	}
}

func TestAPIKeyRefusesBadConfig(t *testing.T) {
	const bad = `{"keys": [{"name": "a", "key": "short"}], "colour": "red"}`
	_, perr := apikey.ParseConfig([]byte(bad))
	require.Error(t, perr)
	var logs strings.Builder
	_, err := testenvtest.Start(t, []testenv.Filter{{Name: "apikey", Module: module(t), Config: []byte(bad)}}, testenv.WithLogOutput(&logs))
	require.Error(t, err)
	for _, line := range strings.Split(perr.Error(), "\n") {
		require.Contains(t, logs.String()+err.Error(), line)
	}
}

// The replay cases in testdata/ (`wasmesh replay examples/filters/apikey/testdata/apikey.yaml`).
func TestReplay(t *testing.T) {
	f, err := replay.ReadFile("testdata/apikey.yaml")
	require.NoError(t, err, "run make build if the module is missing")
	results, err := replay.Run(testenvtest.Runtime(t), f)
	require.NoError(t, err)
	var report strings.Builder
	require.Zero(t, replay.Report(&report, results), "%s", report.String())
}
