package e2e

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/wasmesh/wasmesh/testenv/replay"
)

// ReadCaseFile reads a replay file (the format of testenv/replay, shared with `wasmesh replay`):
// filter paths become absolute, each module must exist, and every problem names file:line and
// key.
func ReadCaseFile(path string) (*replay.File, error) { return replay.ReadFile(path) }

// CaseOptions configures RunCaseFile.
type CaseOptions struct {
	Binary string // Envoy executable; "" = envoybin.Find("")
	// Dir receives Envoy's config, log (envoy.log) and access log (access.log), and is left in
	// place; "" = a temporary directory removed when the run ends.
	Dir string
	// Certs issues the certificates of the cases with an mTLS connection (required when there
	// is one; see ReplayOptions.Certs).
	Certs CertIssuer
}

// RunCaseFile runs every case of f, in order, through one Envoy: the file's filters in order,
// one VM each, and a fake upstream per cluster of f.Clusters() plus the default one, every
// upstream answering with the case's answer `advance` after the request reached it (real
// time). Each Result has the case's duration and the plugins' log lines. The error is for an
// Envoy that does not start.
func RunCaseFile(ctx context.Context, f *replay.File, opts CaseOptions) ([]replay.Result, error) {
	filters := make([]WasmFilter, len(f.Filters))
	for i, fl := range f.Filters {
		filters[i] = WasmFilter{Name: f.PluginName(i), File: fl.Wasm, RootID: fl.RootID,
			VMID: fmt.Sprintf("replay.%d", i), Config: string(fl.Config)}
	}
	var certs CertIssuer
	for _, c := range f.Cases {
		if c.Connection != nil && c.Connection.MTLS {
			if opts.Certs == nil {
				return nil, fmt.Errorf("%s: case %q has an mTLS connection: CaseOptions.Certs is required", f.Path, c.Name)
			}
			certs = opts.Certs
		}
	}
	r, err := StartReplayer(ctx, ReplayOptions{Filters: filters, Clusters: f.Clusters(), Binary: opts.Binary, Dir: opts.Dir, Certs: certs})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	defer r.Stop()
	out := make([]replay.Result, 0, len(f.Cases))
	for _, c := range f.Cases {
		res := replay.Result{Name: c.Name}
		start := time.Now()
		got, err := r.Do(ctx, ReplayRequest{Method: c.Request.Method, Path: c.Request.Path, Headers: c.Request.Headers.Map(), Body: c.Request.Body, Connection: c.Connection},
			Answer{Status: c.Upstream.Status, Header: c.Upstream.Headers.Map(), Body: c.Upstream.Body, Delay: c.Advance})
		res.Duration = time.Since(start)
		if err != nil {
			res.Err = err
		} else {
			res.Problems = replay.Compare(c, observed(got, r))
		}
		res.Logs = got.Logs
		out = append(out, res)
	}
	return out, nil
}

// observed is what Envoy did with one request, for replay.Compare.
func observed(got ReplayResult, r *Replayer) replay.Observed {
	o := replay.Observed{
		Status:  got.Status,
		Headers: got.Headers,
		Body:    got.Body,
		Metric: func(name string) (float64, bool, error) {
			v, ok, err := r.Metric(name)
			return float64(v), ok, err
		},
		MissingMetric: func(name string) string { return "Envoy has no wasmcustom." + name },
	}
	if u := got.Upstream; u != nil {
		o.Upstream = &replay.ObservedUpstream{Cluster: u.Cluster, Authority: u.Host, Method: u.Method,
			Path: u.Path, Headers: u.Headers, Body: u.Body, Reset: u.Reset}
	}
	if got.Details == "cluster_not_found" {
		o.Note = replay.ClusterNote(got.Cluster)
	}
	return o
}

// Report writes one line per case ("PASS  name (duration)" / "FAIL  name (duration)" plus its
// differences) and returns how many failed.
func Report(w io.Writer, results []replay.Result) int { return replay.Report(w, results) }
