// Package ui is the control plane's web UI: plain HTML, CSS and JavaScript embedded in the
// binary (no build step, no network access needed by the browser), served at / by `wasmesh
// serve` and the sandbox. The pages read the JSON API (/api/v1/graph, /api/v1/status,
// /api/v1/traces) with the API token the user gives once (the URL fragment #token=...,
// which browsers never send to the server, or the login box). docs/observability.md.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the UI's files. They hold no data: every page asks the API, which checks the
// token.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// URL is the UI's address on a control plane HTTP address, carrying the token in the
// fragment (never sent to the server; the page keeps it in the browser's local storage).
func URL(httpAddr, token string) string {
	u := "http://" + httpAddr + "/"
	if token != "" {
		u += "#token=" + token
	}
	return u
}
