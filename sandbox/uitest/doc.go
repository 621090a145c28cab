// Package uitest holds the end-to-end test of the control plane's web UI on the process
// sandbox: the graph, traces and status JSON, then the pages in Debian's chromium driven with
// chromedp (screenshots into build/ui-screenshots and docs/). It is its own package so the
// chromedp dependency stays out of the wasmesh binary.
package uitest
