package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/testenv"
)

// Run runs every case of f, in order, through one testenv chain of f's filters on rt (so metrics
// and plugin state carry over from case to case, as in one Envoy). The clusters of f.Clusters()
// and the default cluster exist (testenv.WithOnlyClusters, as in the Envoy runner's config);
// each answers with the case's upstream answer after `advance` of simulated time (ticks fire
// meanwhile). Each Result carries the case's wall-clock duration, its simulated duration and
// the plugins' log lines. opts are passed to testenv (e.g. testenv.WithLogOutput). The error
// is for a chain that does not start.
func Run(rt *testenv.Runtime, f *File, opts ...testenv.Option) ([]Result, error) {
	filters := make([]testenv.Filter, len(f.Filters))
	for i, fl := range f.Filters {
		module, err := os.ReadFile(fl.Wasm)
		if err != nil {
			return nil, fmt.Errorf("%s: filter %q: read module: %w", f.Path, pluginName(fl, i), err)
		}
		filters[i] = testenv.Filter{
			Name:   pluginName(fl, i),
			Module: module,
			Config: fl.Config,
			RootID: fl.RootID,
		}
	}
	var current *Case
	answer := func(*testenv.UpstreamRequest) *testenv.Response { return upstreamResponse(current.Upstream) }
	all := []testenv.Option{testenv.WithUpstream(answer), testenv.WithOnlyClusters()}
	for _, c := range f.Clusters() {
		all = append(all, testenv.WithCluster(c, answer))
	}
	env, err := rt.Start(filters, append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	defer env.Close()
	out := make([]Result, 0, len(f.Cases))
	seenLogs := len(env.Logs())
	for i := range f.Cases {
		c := &f.Cases[i]
		current = c
		start := time.Now()
		for _, cl := range append([]string{"default"}, f.Clusters()...) {
			env.SetLatency(cl, c.Advance)
		}
		before := env.Crossings()
		req := request(c.Request)
		req.Connection = c.Connection // the environment only reads it
		res := env.Do(req)
		r := Result{Name: c.Name, Duration: time.Since(start), Simulated: res.Elapsed, Cost: env.Crossings().Since(before)}
		if res.Err != nil {
			r.Err = res.Err
		} else {
			r.Problems = Compare(*c, observed(res, env))
		}
		logs := env.Logs()
		for _, l := range logs[seenLogs:] {
			r.Logs = append(r.Logs, FormatLog(l.Level.String(), l.Filter, l.Message))
		}
		seenLogs = len(logs)
		out = append(out, r)
	}
	return out, nil
}

// pluginName is the name both runners give filter i of a file: "<module>.<i>".
func pluginName(fl Filter, i int) string {
	return fmt.Sprintf("%s.%d", strings.TrimSuffix(filepath.Base(fl.Wasm), ".wasm"), i)
}

// PluginName is the plugin name both runners give filter i of f: "<module base name>.<i>".
func (f *File) PluginName(i int) string { return pluginName(f.Filters[i], i) }

// FormatLog is how both runners show a plugin log line: "[level] plugin: message".
func FormatLog(level, plugin, message string) string {
	return "[" + level + "] " + plugin + ": " + message
}

// request is a case's request as testenv takes it. Like the HTTP/1.1 client of the Envoy
// runner, it says content-length for a body, and 0 for an empty one unless GET or HEAD.
func request(r Request) testenv.Request {
	req := testenv.Request{Method: r.Method, Path: r.Path, Authority: r.Authority()}
	hasLength := false
	for _, h := range r.Headers {
		switch h[0] {
		case "host", ":authority":
			continue
		case "content-length":
			hasLength = true
		}
		req.Headers = append(req.Headers, h)
	}
	if !hasLength && (r.Body != "" || (r.Method != "GET" && r.Method != "HEAD")) {
		req.Headers = append(req.Headers, [2]string{"content-length", strconv.Itoa(len(r.Body))})
	}
	if r.Body != "" {
		req.Body = []byte(r.Body)
	}
	return req
}

// upstreamResponse is the case's answer; like an HTTP/1.1 server it says content-length.
func upstreamResponse(u Upstream) *testenv.Response {
	resp := &testenv.Response{Status: u.Status, Body: []byte(u.Body)}
	hasLength := false
	for _, h := range u.Headers {
		hasLength = hasLength || h[0] == "content-length"
		resp.Headers = append(resp.Headers, h)
	}
	if !hasLength {
		resp.Headers = append(resp.Headers, [2]string{"content-length", strconv.Itoa(len(u.Body))})
	}
	return resp
}

func observed(res *testenv.Result, env *testenv.Env) Observed {
	metrics := env.Metrics()
	o := Observed{
		Status:  res.Response.Status,
		Headers: flatten(res.Response.Headers),
		Body:    string(res.Response.Body),
		Metric: func(name string) (float64, bool, error) {
			v, ok := metrics[name]
			return v, ok, nil
		},
		MissingMetric: func(name string) string { return "no plugin defined " + name },
	}
	if u := res.Upstream; u != nil {
		o.Upstream = &ObservedUpstream{Cluster: u.Cluster, Authority: u.Authority, Method: u.Method, Path: u.Path,
			Headers: flatten(u.Headers), Body: string(u.Body), Reset: u.Reset}
	}
	if res.Details == "cluster_not_found" {
		o.Note = ClusterNote(res.Cluster)
	}
	return o
}

// flatten turns ordered headers into a map, repeated values joined by "," as Envoy's runner
// sees them.
func flatten(h testenv.Headers) map[string]string {
	m := make(map[string]string, len(h))
	for _, kv := range h {
		name := strings.ToLower(kv[0])
		if v, ok := m[name]; ok {
			m[name] = v + "," + kv[1]
		} else {
			m[name] = kv[1]
		}
	}
	return m
}
