package uitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/observe"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/sandbox"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

// waitBound bounds every wait for the mesh to show something: generous for a loaded 2-core
// machine, not a measure (the figures are logged).
const waitBound = 90 * time.Second

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// freeBase finds a base port whose whole block is free (sandbox.FreeBasePort).
func freeBase(t *testing.T) int {
	t.Helper()
	base, err := sandbox.FreeBasePort()
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// mesh is a running sandbox with demo traffic.
type mesh struct {
	sb     *sandbox.Sandbox
	client *api.Client
	token  string
	base   string // http://<control plane>

	sent, failed atomic.Int64
}

func startMesh(t *testing.T) *mesh {
	bin, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	if _, err := os.Stat(filepath.Join("..", "..", "build", "wasmesh.wasm")); err != nil {
		t.Fatal("build/wasmesh.wasm missing: run make build")
	}
	sb, err := sandbox.Start(t.Context(), sandbox.Options{BasePort: freeBase(t), Root: "../..", Envoy: bin.Path, NoBuild: true,
		Out: testWriter{t}, ReadyTimeout: 5 * time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Stop()) })
	m := &mesh{sb: sb}
	m.token, err = api.ReadToken(filepath.Join(sb.DataDir(), "controlplane"))
	require.NoError(t, err)
	m.base = "http://" + sb.Topology().HTTPAddress()
	m.client = &api.Client{BaseURL: m.base, Token: m.token}
	require.Equal(t, m.base+"/#token="+m.token, sb.UIURL())
	return m
}

// traffic sends demo requests to the frontend (one in four as jason, who sees reviews v3)
// until ctx ends.
func (m *mesh) traffic(ctx context.Context, t *testing.T) {
	url := "http://" + m.sb.Topology().Frontend().InboundAddress() + "/"
	c := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if (i+w)%4 == 0 {
					req.Header.Set("x-user", "jason")
				}
				res, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					m.sent.Add(1)
					if res.StatusCode >= 500 {
						m.failed.Add(1)
					}
				}
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	t.Cleanup(wg.Wait)
}

func (m *mesh) get(t *testing.T, path string, into any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, m.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+m.token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
	require.NoError(t, json.Unmarshal(b, into), "%s", b)
}

// apply applies one document and waits until every sidecar runs it.
func (m *mesh) apply(t *testing.T, doc string) {
	t.Helper()
	docs, err := crd.Decode("test.yaml", []byte(doc))
	require.NoError(t, err)
	res, err := m.client.Apply(t.Context(), docs, false)
	require.NoError(t, err)
	key := res.Results[0].Key
	waitFor(t, "every sidecar runs "+key.String(), func() error {
		var st api.StatusResponse
		m.get(t, "/api/v1/status", &st)
		for _, r := range st.Resources {
			if r.Key != key {
				continue
			}
			if len(r.Nodes) != len(m.sb.Topology().Instances) {
				return fmt.Errorf("%+v", r.Nodes)
			}
			for _, n := range r.Nodes {
				// "acked": the sidecar runs the resource's stored generation (else "pending").
				if n.State != crd.Acked {
					return fmt.Errorf("generation %d: %+v", r.Generation, r.Nodes)
				}
			}
			if r.Generation != res.Results[0].Generation {
				return fmt.Errorf("generation %d, want %d", r.Generation, res.Results[0].Generation)
			}
			return nil
		}
		return errors.New("not in the status")
	})
}

// ratingsFault is a FaultInjection aborting pct% of the calls to ratings.
func ratingsFault(pct int) string {
	return fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: FaultInjection
metadata: {name: ratings}
spec:
  service: ratings
  rules:
  - name: abort-all
    abort: {httpStatus: 503, percentage: %d}
`, pct)
}

// waitFor polls cond (e2e.WaitFor) until it returns nil, failing the test with cond's last
// error after waitBound; it returns how long that took.
func waitFor(t *testing.T, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	if err := e2e.WaitFor(waitBound, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return time.Since(start)
}

var wantEdges = []string{
	"frontend:v1->reviews:v1", "frontend:v1->reviews:v3",
	"reviews:v1->ratings:v1", "reviews:v3->ratings:v1",
}

func edgeByID(g observe.Graph, id string) (observe.GraphEdge, bool) {
	i := slices.IndexFunc(g.Edges, func(e observe.GraphEdge) bool { return e.ID == id })
	if i < 0 {
		return observe.GraphEdge{}, false
	}
	return g.Edges[i], true
}

// TestUI runs the process sandbox with demo traffic and checks what the UI shows, first as
// JSON (graph, traces, status), then in a real browser: the graph's nodes and edges with
// non-zero rates, a 100% abort on ratings turning its incoming edges to the failing colour, a
// trace opened from an edge with spans from at least three sidecars, the status page listing
// every sidecar ACKed. Screenshots go to build/ui-screenshots (and docs/ with
// WASMESH_UI_SCREENSHOTS_TO_DOCS=1).
func TestUI(t *testing.T) {
	m := startMesh(t)
	// A clean baseline: the sample resources abort 10% of the calls to ratings.
	m.apply(t, ratingsFault(0))
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	m.traffic(ctx, t)

	var g observe.Graph
	took := waitFor(t, "graph edges with traffic", func() error {
		m.get(t, "/api/v1/graph?window=10s", &g)
		for _, id := range wantEdges {
			// Envoy merges histograms at its stats flush (every 5s): latency comes later.
			if e, ok := edgeByID(g, id); !ok || e.RPS <= 0 || e.P99 <= 0 {
				return fmt.Errorf("edge %s missing, idle or without latency in %+v", id, g.Edges)
			}
		}
		return nil
	})
	t.Logf("graph shows every edge with traffic %v after the traffic started", took.Round(time.Millisecond))
	for _, n := range []string{"frontend:v1", "reviews:v1", "reviews:v2", "reviews:v3", "ratings:v1"} {
		require.True(t, slices.ContainsFunc(g.Nodes, func(x observe.GraphNode) bool { return x.ID == n && len(x.Sidecars) == 1 }), "node %s with its sidecar", n)
	}
	e, _ := edgeByID(g, "frontend:v1->reviews:v1")
	require.NotNil(t, e.Weight, "the canary split shows on the edge")
	require.Equal(t, 90, *e.Weight)
	require.Equal(t, observe.HealthHealthy, e.Health)
	r, _ := edgeByID(g, "reviews:v1->ratings:v1")
	require.Equal(t, []string{"abort-all: abort http 503, 0%"}, r.Faults)
	require.Contains(t, g.Source, "sidecar admin scrape")

	// Traces: Envoy's Zipkin tracer on every sidecar, spans to the control plane.
	var traceID string
	waitFor(t, "a trace through three sidecars", func() error {
		var tr api.TracesResponse
		m.get(t, "/api/v1/traces?service=reviews&service=ratings", &tr)
		for _, s := range tr.Traces {
			if len(s.Sidecars) >= 3 {
				traceID = s.TraceID
				return nil
			}
		}
		return fmt.Errorf("%d traces, %+v", len(tr.Traces), tr.Stats)
	})
	var one api.TraceResponse
	m.get(t, "/api/v1/traces/"+traceID, &one)
	nodes := map[string]bool{}
	for _, s := range one.Spans {
		nodes[s.Tags["node_id"]] = true
	}
	require.Contains(t, nodes, "frontend.v1.0")
	require.Contains(t, nodes, "ratings.v1.0")

	// Status: every sidecar ACKed, with the module it runs.
	st, err := m.client.Status(t.Context())
	require.NoError(t, err)
	require.Len(t, st.Nodes, 5)
	for _, n := range st.Nodes {
		require.NotEmpty(t, n.Modules, "node %s", n.ID)
		require.Len(t, n.Modules[0].SHA256, 64)
	}

	b := startBrowser(t)
	b.checkGraph(t, m)
	b.checkTrace(t, m)
	b.checkStatus(t, m)

	// A 100% abort on ratings: its incoming edges turn failing, in the JSON and in the page.
	// The refresh latency: from the first 5xx reviews v1's sidecar counts (its admin, polled
	// every 50ms) to the graph JSON showing the edge failing.
	admin := "http://" + m.sb.Topology().Versions("reviews")[0].AdminAddress()
	base5xx := ratings5xx(t, admin)
	var firstCounted atomic.Int64
	go func() {
		for ctx.Err() == nil && firstCounted.Load() == 0 {
			if ratings5xx(t, admin) > base5xx {
				firstCounted.Store(time.Now().UnixNano())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	applied := time.Now()
	m.apply(t, ratingsFault(100))
	took = waitFor(t, "edges into ratings failing", func() error {
		m.get(t, "/api/v1/graph?window=10s", &g)
		for _, id := range []string{"reviews:v1->ratings:v1", "reviews:v3->ratings:v1"} {
			if e, ok := edgeByID(g, id); !ok || e.Health != observe.HealthFailing {
				return fmt.Errorf("%s: %+v", id, e)
			}
		}
		return nil
	})
	shown := time.Now()
	if fc := firstCounted.Load(); fc != 0 {
		t.Logf("FIGURE ui refresh: the graph JSON showed the edges into ratings failing %v after the apply was sent (%v after every sidecar ACKed it) and %v after reviews v1's sidecar counted the first 5xx (scrape every 2s, graph polled every 50ms, window 10s)",
			shown.Sub(applied).Round(time.Millisecond), took.Round(time.Millisecond), shown.Sub(time.Unix(0, fc)).Round(time.Millisecond))
	}
	b.checkFailing(t)
	t.Logf("traffic: %d requests, %d failed", m.sent.Load(), m.failed.Load())
}

// ratings5xx is the 5xx count of calls to ratings a sidecar's admin reports.
func ratings5xx(t *testing.T, admin string) float64 {
	res, err := http.Get(admin + "/stats/prometheus?filter=wasmesh_requests_total")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var n float64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "wasmesh_requests_total{") && strings.Contains(l, `destination_service="ratings"`) && strings.Contains(l, `response_code_class="5xx"`) {
			var v float64
			if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
				n += v
			}
		}
	}
	return n
}

// ---- browser ---------------------------------------------------------------------------------

type browser struct {
	ctx   context.Context
	shots string
}

// chromium finds Debian's chromium (scripts/chromium.sh installs it under CI=true).
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("WASMESH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: install it (Debian: apt-get install chromium; `make test` under CI=true does) or set WASMESH_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; the JSON checks above passed")
	return ""
}

func startBrowser(t *testing.T) *browser {
	exe := chromium(t)
	// Not t.TempDir: chromium's helpers may still write there while the test's cleanup runs.
	profile, err := os.MkdirTemp("", "wasmesh-uitest-")
	require.NoError(t, err)
	t.Cleanup(func() {
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(profile))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel2)
	// The first Run starts the browser on this context (a later Run's timeout must not
	// close it).
	require.NoError(t, chromedp.Run(ctx), "start %s", exe)
	shots := filepath.Join("..", "..", "build", "ui-screenshots")
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return &browser{ctx: ctx, shots: shots}
}

func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitBound)
	defer cancel()
	require.NoError(t, chromedp.Run(ctx, actions...), what)
}

// eval polls a JavaScript expression until it returns true.
func (b *browser) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	waitFor(t, what, func() error {
		var ok bool
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok)); err != nil {
			return err
		}
		if !ok {
			return errors.New(expr)
		}
		return nil
	})
}

func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	var png []byte
	b.run(t, "screenshot "+name, chromedp.FullScreenshot(&png, 100))
	p := filepath.Join(b.shots, name+".png")
	require.NoError(t, os.WriteFile(p, png, 0o644))
	t.Logf("screenshot %s", p)
	if os.Getenv("WASMESH_UI_SCREENSHOTS_TO_DOCS") == "1" {
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "images", "ui-"+name+".png"), png, 0o644))
	}
}

func (b *browser) checkGraph(t *testing.T, m *mesh) {
	b.run(t, "open the UI", chromedp.Navigate(m.sb.UIURL()), chromedp.WaitVisible("#graph-svg"))
	// The token moved from the URL to the browser's storage.
	var hash string
	b.run(t, "url", chromedp.Evaluate(`location.hash`, &hash))
	require.Equal(t, "#/graph", hash)
	b.run(t, "window 10s", chromedp.SetValue("#window", "10s"), chromedp.Evaluate(`document.getElementById("window").dispatchEvent(new Event("change"))`, nil))
	var js []string
	for _, id := range wantEdges {
		js = append(js, fmt.Sprintf(`Number((document.querySelector('.edge[data-id="%s"]')||{dataset:{rps:0}}).dataset.rps) > 0`, id))
	}
	b.waitJS(t, "edges with traffic in the page", strings.Join(js, " && "))
	var nodes []string
	b.run(t, "nodes", chromedp.Evaluate(`[...document.querySelectorAll('.node')].map(n => n.dataset.id)`, &nodes))
	require.Subset(t, nodes, []string{"frontend:v1", "reviews:v1", "reviews:v2", "reviews:v3", "ratings:v1"})
	b.waitJS(t, "a healthy edge is green", `getComputedStyle(document.querySelector('.edge[data-id="reviews:v1->ratings:v1"] path.line')).stroke === "rgb(63, 156, 53)"`)
	// Click the edge: its panel names the resources and the sidecars.
	b.run(t, "click edge", chromedp.Click(`.edge[data-id="reviews:v1->ratings:v1"] path.hit`, chromedp.ByQuery), chromedp.WaitVisible("#edge-traces"))
	var panel string
	b.run(t, "panel", chromedp.Text("#panel", &panel))
	require.Contains(t, panel, "FaultInjection/ratings")
	require.Contains(t, panel, "ratings.v1.0")
	b.shot(t, "graph")
}

func (b *browser) checkTrace(t *testing.T, m *mesh) {
	b.run(t, "edge traces", chromedp.Click("#edge-traces", chromedp.ByQuery), chromedp.WaitVisible("#traces"))
	b.waitJS(t, "a trace through three sidecars listed", `[...document.querySelectorAll('tr.trace')].some(r => Number(r.dataset.sidecars) >= 3)`)
	b.run(t, "open trace", chromedp.Evaluate(`[...document.querySelectorAll('tr.trace')].find(r => Number(r.dataset.sidecars) >= 3).querySelector('a').click()`, nil),
		chromedp.WaitVisible("#waterfall"))
	var sidecars []string
	b.run(t, "spans", chromedp.Evaluate(`[...new Set([...document.querySelectorAll('#waterfall .span')].map(r => r.dataset.node).filter(Boolean))]`, &sidecars))
	require.GreaterOrEqual(t, len(sidecars), 3, "spans from %v", sidecars)
	b.shot(t, "trace")
}

func (b *browser) checkStatus(t *testing.T, m *mesh) {
	b.run(t, "status", chromedp.Navigate(m.base+"/#/status"), chromedp.WaitVisible("#sidecars"))
	b.waitJS(t, "five sidecars ACKed", `document.querySelectorAll('tr.sidecar').length === 5 && [...document.querySelectorAll('tr.sidecar')].every(r => r.dataset.state === "acked")`)
	var text string
	b.run(t, "status text", chromedp.Text("#sidecars", &text))
	require.Contains(t, text, "wasmesh.chain")
	b.shot(t, "status")
}

func (b *browser) checkFailing(t *testing.T) {
	b.run(t, "graph", chromedp.Navigate(strings.Split(b.url(t), "#")[0]+"#/graph"), chromedp.WaitVisible("#graph-svg"))
	b.waitJS(t, "edges into ratings failing in the page", `[...document.querySelectorAll('.edge')].filter(e => e.dataset.id.endsWith("->ratings:v1") && Number(e.dataset.rps) > 0).length >= 2 &&
		[...document.querySelectorAll('.edge')].filter(e => e.dataset.id.endsWith("->ratings:v1") && Number(e.dataset.rps) > 0).every(e => e.dataset.health === "failing" &&
		getComputedStyle(e.querySelector("path.line")).stroke === "rgb(201, 25, 11)")`)
	b.run(t, "click", chromedp.Click(`.edge[data-id="reviews:v1->ratings:v1"] path.hit`, chromedp.ByQuery), chromedp.WaitVisible("#edge-traces"))
	b.shot(t, "graph-failing")
}

func (b *browser) url(t *testing.T) string {
	var u string
	b.run(t, "location", chromedp.Evaluate(`location.href`, &u))
	return u
}
