package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHandlerServesThePages(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/": "<title>wasmesh</title>", "/app.js": "function drawGraph", "/style.css": ".edge.failing"} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Contains(t, string(b), want, path)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'", path)
	}
	res, err := http.Get(srv.URL + "/nothing")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

// The UI works offline: no file loads anything from another origin (the SVG namespace is a
// name, not a fetch).
func TestNoExternalResources(t *testing.T) {
	url := regexp.MustCompile(`https?://[^"' )]+`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		require.NoError(t, err)
		for _, u := range url.FindAllString(string(b), -1) {
			require.True(t, strings.HasPrefix(u, "http://www.w3.org/2000/svg"), "%s loads %s", p, u)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestURL(t *testing.T) {
	require.Equal(t, "http://127.0.0.1:18001/#token=abc", URL("127.0.0.1:18001", "abc"))
	require.Equal(t, "http://127.0.0.1:18001/", URL("127.0.0.1:18001", ""))
}
