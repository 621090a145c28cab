package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// CaseFile is a replay file (the `wasmesh replay` format of docs/testenv, issue 2). This is a
// minimal local reading of it for the Envoy runner, used until testenv/replay exports its own.
type CaseFile struct {
	Path    string
	Filters []CaseFilter `json:"filters"`
	Cases   []Case       `json:"cases"`
}

// CaseFilter is one filter of the chain.
type CaseFilter struct {
	Wasm   string          `json:"wasm"`
	Config json.RawMessage `json:"config"`
	RootID string          `json:"rootId"`
}

// Case is one HTTP exchange and what is expected of it.
type Case struct {
	Name    string `json:"name"`
	Request struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"request"`
	Upstream struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"upstream"`
	Advance string `json:"advance"`
	Expect  struct {
		// UpstreamRequest: absent = not checked, null = must not reach the upstream.
		UpstreamRequest json.RawMessage `json:"upstreamRequest"`
		Response        *struct {
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    *string           `json:"body"`
		} `json:"response"`
		Metrics map[string]int64 `json:"metrics"`
	} `json:"expect"`
}

type expectUpstream struct {
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
	Cluster string            `json:"cluster"`
}

// ReadCaseFile reads and checks a replay file; wasm paths become relative to the file.
func ReadCaseFile(path string) (*CaseFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f CaseFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Path = path
	var errs []error
	if len(f.Filters) == 0 {
		errs = append(errs, fmt.Errorf("%s: filters: at least one filter is required", path))
	}
	for i := range f.Filters {
		if f.Filters[i].Wasm == "" {
			errs = append(errs, fmt.Errorf("%s: filters[%d].wasm: required", path, i))
		} else if !filepath.IsAbs(f.Filters[i].Wasm) {
			f.Filters[i].Wasm = filepath.Join(filepath.Dir(path), f.Filters[i].Wasm)
		}
		if abs, err := filepath.Abs(f.Filters[i].Wasm); err == nil {
			f.Filters[i].Wasm = abs
		}
	}
	for i, c := range f.Cases {
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("%s: cases[%d].name: required", path, i))
		}
	}
	return &f, errors.Join(errs...)
}

// PluginConfig is the configuration a filter's plugin gets: a YAML string as-is, anything
// else as JSON.
func (f CaseFilter) PluginConfig() string {
	c := bytes.TrimSpace(f.Config)
	if len(c) == 0 || string(c) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(c, &s) == nil {
		return s
	}
	return string(c)
}

var (
	clusterRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\|[a-z0-9][a-z0-9._-]*$`)
	versionRE = regexp.MustCompile(`^v[0-9][a-z0-9._-]*$`)
)

// Clusters guesses every cluster the filters may route to: each "<service>|<version>" string in
// the file, and each request host crossed with each version-like string ("v2") in the configs.
func (f *CaseFile) Clusters() []string {
	set := map[string]bool{}
	var versions []string
	var walk func(v any, inConfig bool)
	walk = func(v any, inConfig bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, inConfig)
				walk(e, inConfig)
			}
		case []any:
			for _, e := range x {
				walk(e, inConfig)
			}
		case string:
			for _, part := range strings.Split(x, ",") {
				part = strings.TrimSpace(part)
				if clusterRE.MatchString(part) {
					set[part] = true
				}
				if inConfig && versionRE.MatchString(part) {
					versions = append(versions, part)
				}
			}
		}
	}
	for _, fl := range f.Filters {
		var v any
		if json.Unmarshal([]byte(fl.PluginConfig()), &v) == nil {
			walk(v, true)
		}
	}
	raw, _ := json.Marshal(f.Cases)
	var cases any
	_ = json.Unmarshal(raw, &cases)
	walk(cases, false)
	for _, c := range f.Cases {
		host := c.Request.Headers["host"]
		if host == "" {
			host = c.Request.Headers[":authority"]
		}
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		if host == "" {
			continue
		}
		for _, v := range versions {
			set[host+"|"+v] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// CaseResult is one case's outcome.
type CaseResult struct {
	Name     string
	Result   ReplayResult
	Problems []string // empty = passed
	Err      error
}

// Passed reports whether the case met every expectation.
func (r CaseResult) Passed() bool { return r.Err == nil && len(r.Problems) == 0 }

// RunCaseFile runs every case of f, in order, through one Envoy (Binary "" = envoybin.Find).
func RunCaseFile(ctx context.Context, f *CaseFile, binary string) ([]CaseResult, error) {
	filters := make([]WasmFilter, len(f.Filters))
	for i, fl := range f.Filters {
		name := strings.TrimSuffix(filepath.Base(fl.Wasm), ".wasm")
		filters[i] = WasmFilter{Name: fmt.Sprintf("%s.%d", name, i), File: fl.Wasm, RootID: fl.RootID,
			VMID: fmt.Sprintf("replay.%d", i), Config: fl.PluginConfig()}
	}
	r, err := StartReplayer(ctx, ReplayOptions{Filters: filters, Clusters: f.Clusters(), Binary: binary})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	defer r.Stop()
	out := make([]CaseResult, 0, len(f.Cases))
	for _, c := range f.Cases {
		res := CaseResult{Name: c.Name}
		res.Result, res.Err = r.Do(ctx, ReplayRequest{Method: c.Request.Method, Path: c.Request.Path, Headers: c.Request.Headers, Body: c.Request.Body},
			Answer{Status: c.Upstream.Status, Header: c.Upstream.Headers, Body: c.Upstream.Body})
		if res.Err == nil {
			res.Problems = compare(c, res.Result, r)
		}
		out = append(out, res)
	}
	return out, nil
}

func compare(c Case, got ReplayResult, r *Replayer) []string {
	var p []string
	if raw := bytes.TrimSpace(c.Expect.UpstreamRequest); len(raw) > 0 {
		if string(raw) == "null" {
			if got.Upstream != nil {
				p = append(p, fmt.Sprintf("upstreamRequest: want none, got one to cluster %q", got.Upstream.Cluster))
			}
		} else {
			var want expectUpstream
			if err := json.Unmarshal(raw, &want); err != nil {
				p = append(p, fmt.Sprintf("expect.upstreamRequest: %v", err))
			} else if got.Upstream == nil {
				p = append(p, "upstreamRequest: want one, none reached an upstream")
			} else {
				p = append(p, headerProblems("upstreamRequest.headers", want.Headers, got.Upstream.Headers)...)
				if want.Body != nil && *want.Body != got.Upstream.Body {
					p = append(p, fmt.Sprintf("upstreamRequest.body: want %q, got %q", *want.Body, got.Upstream.Body))
				}
				if want.Cluster != "" && want.Cluster != got.Upstream.Cluster {
					p = append(p, fmt.Sprintf("upstreamRequest.cluster: want %q, got %q", want.Cluster, got.Upstream.Cluster))
				}
			}
		}
	}
	if w := c.Expect.Response; w != nil {
		if w.Status != 0 && w.Status != got.Status {
			p = append(p, fmt.Sprintf("response.status: want %d, got %d", w.Status, got.Status))
		}
		p = append(p, headerProblems("response.headers", w.Headers, got.Headers)...)
		if w.Body != nil && *w.Body != got.Body {
			p = append(p, fmt.Sprintf("response.body: want %q, got %q", *w.Body, got.Body))
		}
	}
	names := make([]string, 0, len(c.Expect.Metrics))
	for n := range c.Expect.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, ok, err := r.Metric(n)
		switch {
		case err != nil:
			p = append(p, fmt.Sprintf("metrics.%s: %v", n, err))
		case !ok:
			p = append(p, fmt.Sprintf("metrics.%s: want %d, Envoy has no wasmcustom.%s", n, c.Expect.Metrics[n], n))
		case v != c.Expect.Metrics[n]:
			p = append(p, fmt.Sprintf("metrics.%s: want %d, got %d", n, c.Expect.Metrics[n], v))
		}
	}
	return p
}

func headerProblems(where string, want, got map[string]string) []string {
	var p []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[strings.ToLower(k)]
		if !ok {
			p = append(p, fmt.Sprintf("%s.%s: want %q, absent", where, k, want[k]))
		} else if g != want[k] {
			p = append(p, fmt.Sprintf("%s.%s: want %q, got %q", where, k, want[k], g))
		}
	}
	return p
}

// Report writes one line per case ("PASS name" / "FAIL name" plus its problems) and returns
// how many failed.
func Report(w io.Writer, results []CaseResult) int {
	failed := 0
	for _, r := range results {
		if r.Passed() {
			fmt.Fprintf(w, "PASS  %s\n", r.Name)
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL  %s\n", r.Name)
		if r.Err != nil {
			fmt.Fprintf(w, "      %v\n", r.Err)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(w, "      %s\n", p)
		}
	}
	return failed
}
