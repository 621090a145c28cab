package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv/e2e"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

// The mesh's CA issues the certificates of mTLS cases.
var _ e2e.CertIssuer = (*ca.CA)(nil)

// runReplayEnvoy is `wasmesh replay --envoy FILE...`: each replay file runs through a real
// stock Envoy (a generated static config with the file's filters in order, one VM per filter,
// and a fake upstream per cluster), one line per case. Envoy is found from any directory
// (envoybin.FindNear). Each file's Envoy works in its own directory, removed when every case
// passed and kept (its path printed) otherwise; a CA in that directory issues the certificates
// of mTLS cases.
func runReplayEnvoy(files []*replay.File, opts replay.ReportOptions, stdout, stderr io.Writer) error {
	dirs := make([]string, len(files))
	for i, f := range files {
		dirs[i] = filepath.Dir(f.Path)
	}
	bin, err := envoybin.FindNear(dirs...)
	if err != nil {
		return &exitError{code: replayCannotGo, err: err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed, total := 0, 0
	for _, f := range files {
		dir, err := os.MkdirTemp("", "wasmesh-replay-")
		if err != nil {
			return &exitError{code: replayCannotGo, err: err}
		}
		certs, err := ca.Load(filepath.Join(dir, "ca"), ca.Options{TTL: time.Hour})
		if err != nil {
			return &exitError{code: replayCannotGo, err: err}
		}
		results, err := e2e.RunCaseFile(ctx, f, e2e.CaseOptions{Binary: bin.Path, Dir: dir, Certs: certs})
		if err != nil {
			fmt.Fprintf(stderr, "Envoy's config and log are kept in %s\n", dir)
			return &exitError{code: replayCannotGo, err: err}
		}
		if len(files) > 1 {
			fmt.Fprintf(stdout, "%s (envoy)\n", f.Path)
		}
		n := replay.ReportWith(stdout, results, opts)
		if n > 0 {
			fmt.Fprintf(stderr, "%s: Envoy's config, log (envoy.log) and access log are kept in %s\n", f.Path, dir)
		} else {
			_ = os.RemoveAll(dir)
		}
		failed += n
		total += len(results)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d of %d case(s) failed in Envoy\n", failed, total)
		return errCasesFailed
	}
	return nil
}
