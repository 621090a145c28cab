package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/api"
)

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServe(t *testing.T) {
	dataDir := t.TempDir()
	modDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(modDir, "wasmesh.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644))

	start := func() (cancel func() error, out *syncBuffer, server string) {
		ctx, stop := context.WithCancel(context.Background())
		out = &syncBuffer{}
		errOut := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- serve(ctx, []string{"--data-dir", dataDir, "--http", "127.0.0.1:0", "--xds", "127.0.0.1:0", "--modules", modDir}, out, errOut)
		}()
		apiLine := regexp.MustCompile(`API\s+(http://\S+)/api/v1`)
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "modules ") }, 10*time.Second, 10*time.Millisecond, "serve did not start: %s", errOut.String())
		m := apiLine.FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		return func() error { stop(); return <-done }, out, m[1]
	}

	stop, out, server := start()
	require.True(t, strings.HasPrefix(out.String(), "wasmesh serve: web UI http://"), "the UI's URL comes first: %s", out.String())
	require.Contains(t, out.String(), "  data dir "+dataDir+" (store revision 0); graph metrics: sidecar admin scrape every 2s\n")
	// The UI's page needs no token (the data behind it does).
	res, err := http.Get(server + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(page), "<title>wasmesh</title>")
	require.Contains(t, out.String(), "(token in "+filepath.Join(dataDir, "token")+")")
	require.Contains(t, out.String(), "(1 built-in from "+modDir+": [wasmesh.wasm])")

	// The CLI finds the token in the data directory.
	dir := t.TempDir()
	var o, e bytes.Buffer
	code := run([]string{"apply", "-f", write(t, dir, "s.yaml", servicesYAML), "--server", server, "--data-dir", dataDir}, &o, &e)
	require.Equal(t, 0, code, e.String())
	require.NoError(t, stop())
	require.Contains(t, out.String(), "wasmesh serve: stopping\n")

	// The store survives a restart.
	stop, out, server = start()
	defer func() { require.NoError(t, stop()) }()
	require.Contains(t, out.String(), "(store revision 1)")
	// --prometheus takes a URL.
	err = serve(context.Background(), []string{"--data-dir", t.TempDir(), "--http", "127.0.0.1:0", "--xds", "127.0.0.1:0", "--prometheus", "prom:9090"}, &syncBuffer{}, &syncBuffer{})
	require.EqualError(t, err, `prometheus URL "prom:9090": want http(s)://host:port`)
	token, err := api.ReadToken(dataDir)
	require.NoError(t, err)
	list, err := (&api.Client{BaseURL: server, Token: token}).List(context.Background(), "Service", "")
	require.NoError(t, err)
	require.Len(t, list, 2)
}

// TestApplyWasmPluginDryRun applies a WasmPlugin whose module refuses its config: the apply
// fails quoting the plugin's own log, and nothing is stored.
func TestApplyWasmPluginDryRun(t *testing.T) {
	wasm, err := filepath.Abs(filepath.Join("..", "..", "build", "configcheck.wasm"))
	require.NoError(t, err)
	if _, err := os.Stat(wasm); err != nil {
		t.Fatalf("%s is missing: run make build", wasm)
	}
	dataDir := t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--data-dir", dataDir, "--http", "127.0.0.1:0", "--xds", "127.0.0.1:0", "--modules", t.TempDir()}, out, errOut)
	}()
	defer func() { stop(); require.NoError(t, <-done) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "modules ") }, 10*time.Second, 10*time.Millisecond, "serve did not start: %s", errOut.String())
	server := regexp.MustCompile(`API\s+(http://\S+)/api/v1`).FindStringSubmatch(out.String())[1]

	dir := t.TempDir()
	plugin := func(header string) string {
		return servicesYAML + "---\n" + head + `kind: WasmPlugin
metadata: {name: api-key}
spec:
  module: {file: ` + wasm + `}
  selector: {services: [reviews]}
  config: {header: "` + header + `"}
`
	}
	f := write(t, dir, "plugin.yaml", plugin(""))
	var o, e bytes.Buffer
	code := run([]string{"apply", "-f", f, "--server", server, "--data-dir", dataDir}, &o, &e)
	require.Equal(t, 1, code)
	require.Equal(t, f+`:23: document 3 (WasmPlugin "api-key"): spec.config: the plugin refused its configuration (proxy_on_configure returned false); plugin log:
  [info] configcheck: starting
  [critical] configcheck: header: required
wasmesh apply: nothing applied (1 problem)
`, e.String())

	o.Reset()
	e.Reset()
	code = run([]string{"apply", "-f", write(t, dir, "plugin.yaml", plugin("x-api-key")), "--server", server, "--data-dir", dataDir}, &o, &e)
	require.Equal(t, 0, code, e.String())
	require.Equal(t, "service/reviews created\nservice/ratings created\nwasmplugin/api-key created\n", o.String())
}
