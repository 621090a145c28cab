package replay

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/testenv"
)

// Observed is what happened to one case's request, as a runner (testenv or Envoy) saw it.
type Observed struct {
	Upstream *ObservedUpstream // nil: no request reached an upstream
	Status   int
	Headers  map[string]string // response headers; lowercase names, repeated values joined by ","
	Body     string
	// Metric looks up a plugin-defined metric after the case; ok is false when the host has none.
	Metric func(name string) (value float64, ok bool, err error)
	// MissingMetric says how the host reports a metric it does not have, for a message like
	// "metrics.x: want 1, " + MissingMetric("x"); default "no such metric".
	MissingMetric func(name string) string
	// Note explains the outcome when a case fails (e.g. ClusterNote); "" for none.
	Note string
}

// ClusterNote explains a 503 for a route to a cluster the runner does not have.
func ClusterNote(cluster string) string {
	return fmt.Sprintf("note: the route chose cluster %q, which this file does not define (503 cluster_not_found, in Envoy too): add it to the file's clusters", cluster)
}

// ObservedUpstream is the request as it reached the upstream.
type ObservedUpstream struct {
	Cluster   string
	Authority string
	Method    string
	Path      string
	Headers   map[string]string // lowercase names, repeated values joined by ","
	Body      string
	// Reset: the request was reset on its way (its headers went upstream, then a filter
	// answered locally): the upstream never received it whole, so it counts as not received.
	Reset bool
}

// Compare returns each difference between what c expects and what was observed, one line
// each, in a fixed order: upstream request, response, metrics (by name).
func Compare(c Case, got Observed) []string {
	var p []string
	switch {
	case c.Expect.NoUpstream:
		if got.Upstream != nil && !got.Upstream.Reset {
			p = append(p, fmt.Sprintf("upstreamRequest: want none, got one to cluster %q", got.Upstream.Cluster))
		}
	case c.Expect.UpstreamRequest != nil:
		want := c.Expect.UpstreamRequest
		if got.Upstream == nil {
			p = append(p, "upstreamRequest: want one, none reached an upstream")
			break
		}
		if got.Upstream.Reset {
			p = append(p, fmt.Sprintf("upstreamRequest: want one, the request to cluster %q was reset on its way (its headers went upstream, then a filter answered locally)", got.Upstream.Cluster))
			break
		}
		u := got.Upstream
		p = appendString(p, "upstreamRequest.cluster", want.Cluster, u.Cluster)
		p = appendString(p, "upstreamRequest.authority", want.Authority, u.Authority)
		p = appendString(p, "upstreamRequest.method", want.Method, u.Method)
		p = appendString(p, "upstreamRequest.path", want.Path, u.Path)
		p = append(p, headerProblems("upstreamRequest.headers", want.Headers, u.Headers)...)
		if want.Body != nil {
			p = appendBody(p, "upstreamRequest.body", *want.Body, u.Body)
		}
	}
	if w := c.Expect.Response; w != nil {
		if w.Status != 0 && w.Status != got.Status {
			p = append(p, fmt.Sprintf("response.status: want %d, got %d", w.Status, got.Status))
		}
		p = append(p, headerProblems("response.headers", w.Headers, got.Headers)...)
		if w.Body != nil {
			p = appendBody(p, "response.body", *w.Body, got.Body)
		}
	}
	names := make([]string, 0, len(c.Expect.Metrics))
	for n := range c.Expect.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := c.Expect.Metrics[n]
		var (
			v   float64
			ok  bool
			err error
		)
		if got.Metric != nil {
			v, ok, err = got.Metric(n)
		}
		switch {
		case err != nil:
			p = append(p, fmt.Sprintf("metrics.%s: %v", n, err))
		case want.Absent && ok:
			p = append(p, fmt.Sprintf("metrics.%s: want no such metric, got %s", n, num(v)))
		case want.Absent:
		case !ok:
			missing := "no such metric"
			if got.MissingMetric != nil {
				missing = got.MissingMetric(n)
			}
			p = append(p, fmt.Sprintf("metrics.%s: want %s, %s", n, num(want.Value), missing))
		case v != want.Value:
			p = append(p, fmt.Sprintf("metrics.%s: want %s, got %s", n, num(want.Value), num(v)))
		}
	}
	if len(p) > 0 && got.Note != "" {
		p = append(p, got.Note)
	}
	return p
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func appendString(p []string, where, want, got string) []string {
	if want != "" && want != got {
		p = append(p, fmt.Sprintf("%s: want %q, got %q", where, want, got))
	}
	return p
}

// longBody is the length from which a body difference is shown on separate lines.
const longBody = 60

// appendBody reports a body difference: short bodies on one line, long ones as want/got lines
// (for an exact body, with the first differing byte).
func appendBody(p []string, where string, want Value, got string) []string {
	if want.ok(got, true) {
		return p
	}
	if want.Exact == nil {
		if len(got) < longBody && !strings.Contains(got, "\n") {
			return append(p, fmt.Sprintf("%s: want %s, got %q", where, want, got))
		}
		return append(p, fmt.Sprintf("%s: want %s, got %d bytes\n  got:  %q", where, want, len(got), got))
	}
	return appendExactBody(p, where, *want.Exact, got)
}

func appendExactBody(p []string, where, want, got string) []string {
	if len(want) < longBody && len(got) < longBody && !strings.Contains(want+got, "\n") {
		return append(p, fmt.Sprintf("%s: want %q, got %q", where, want, got))
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	return append(p, fmt.Sprintf("%s: differs from byte %d (want %d bytes, got %d)\n  want: %q\n  got:  %q",
		where, i, len(want), len(got), want, got))
}

// wireOnly are response headers Envoy's connection manager and HTTP/1 codec add after the
// filter chain: the two runners cannot agree on them.
var wireOnly = map[string]bool{"date": true, "server": true, "connection": true, "transfer-encoding": true, "keep-alive": true}

func headerProblems(where string, want map[string]Value, got map[string]string) []string {
	var p []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[strings.ToLower(k)]
		switch {
		case want[k].ok(g, ok):
			continue
		case !ok:
			p = append(p, fmt.Sprintf("%s.%s: want %s, absent", where, k, want[k]))
		default:
			p = append(p, fmt.Sprintf("%s.%s: want %s, got %q", where, k, want[k], g))
		}
		if where == "response.headers" && wireOnly[strings.ToLower(k)] {
			p = append(p, fmt.Sprintf("note: Envoy's HTTP/1 codec adds %s on the wire, after the filters: the Envoy runner sees it, testenv never does (do not assert it)", k))
		}
	}
	return p
}

// Result is one case's outcome.
type Result struct {
	Name     string
	Duration time.Duration // how long the case took to run (0: not shown)
	// Simulated is the simulated time the exchange took under testenv (0: not shown).
	Simulated time.Duration
	Problems  []string // differences from the expectations; empty = passed
	Err       error    // the case could not run (stream failure, transport error)
	// Cost is what the case cost in crossings between the host and the VMs (under testenv;
	// zero in Envoy, which does not count them).
	Cost testenv.Crossings
	// Logs are the plugins' log lines during the case, as FormatLog writes them (Report
	// prints them with ReportOptions.Logs).
	Logs []string
}

// Passed reports whether the case ran and met every expectation.
func (r Result) Passed() bool { return r.Err == nil && len(r.Problems) == 0 }

// Report writes one line per case ("PASS  name" or "FAIL  name", then the duration when it
// is known) and, under each failed case, its error or differences indented; it returns how
// many cases failed.
func Report(w io.Writer, results []Result) int { return ReportWith(w, results, ReportOptions{}) }

// ReportOptions says what Report adds to each case.
type ReportOptions struct {
	// Logs: under each case, its plugin log lines ("log: [info] plugin.0: message").
	Logs bool
}

// ReportWith is Report with options.
func ReportWith(w io.Writer, results []Result, opts ReportOptions) int {
	failed := 0
	for _, r := range results {
		status := "PASS"
		if !r.Passed() {
			status = "FAIL"
			failed++
		}
		line := status + "  " + r.Name
		switch {
		case r.Duration > 0 && r.Simulated > 0:
			line += fmt.Sprintf("  (%s, simulated %s)", round(r.Duration), r.Simulated)
		case r.Duration > 0:
			line += fmt.Sprintf("  (%s)", round(r.Duration))
		}
		fmt.Fprintln(w, line)
		if r.Err != nil {
			fmt.Fprintf(w, "      %s\n", indent(r.Err.Error()))
		}
		for _, p := range r.Problems {
			fmt.Fprintf(w, "      %s\n", indent(p))
		}
		if opts.Logs {
			for _, l := range r.Logs {
				fmt.Fprintf(w, "      log: %s\n", indent(l))
			}
		}
	}
	return failed
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
