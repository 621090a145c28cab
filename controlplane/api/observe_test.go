package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/observe"
)

type fakeMetrics struct {
	window time.Duration
	err    error
}

func (f *fakeMetrics) Name() string { return "fake" }

func (f *fakeMetrics) Edges(_ context.Context, w time.Duration) ([]observe.EdgeStats, error) {
	f.window = w
	if f.err != nil {
		return nil, f.err
	}
	return []observe.EdgeStats{{EdgeKey: observe.EdgeKey{
		Source:      observe.ServiceVersion{Service: "frontend", Version: "v1"},
		Destination: observe.ServiceVersion{Service: "reviews", Version: "v2"},
	}, RPS: 4, ErrorRate: 0.5, P50: 3, P99: 9}}, nil
}

func (f *fakeMetrics) Problems() []string {
	return []string{"ratings.v1.0: admin /stats/prometheus: refused"}
}

func getJSON(t *testing.T, e *env, path, token string, into any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, into), "%s", b)
	return res.StatusCode
}

func TestGraphEndpoint(t *testing.T) {
	m := &fakeMetrics{}
	e := newEnvCfg(t, admission.FetchOptions{}, nil, func(c *Config) { c.Metrics = m })
	_, err := e.client.Apply(context.Background(), decode(t, "s.yaml", reviews+"---\n"+canary), false)
	require.NoError(t, err)

	var g observe.Graph
	require.Equal(t, http.StatusUnauthorized, getJSON(t, e, "/api/v1/graph", "", &ErrorResponse{}), "the graph needs the token")
	require.Equal(t, http.StatusOK, getJSON(t, e, "/api/v1/graph", "secret", &g))
	require.Equal(t, DefaultGraphWindow, m.window)
	require.Equal(t, "fake", g.Source)
	require.Equal(t, []string{"ratings.v1.0: admin /stats/prometheus: refused"}, g.Problems)
	var ids []string
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	require.Equal(t, []string{"frontend:v1", "reviews:v1", "reviews:v2"}, ids)
	require.Equal(t, "reviews.v1.0", g.Nodes[1].Sidecars[0].ID)
	require.False(t, g.Nodes[1].Sidecars[0].Acked, "listeners pending")
	require.Len(t, g.Edges, 1)
	require.Equal(t, observe.HealthFailing, g.Edges[0].Health)
	require.Equal(t, 10, *g.Edges[0].Weight)

	require.Equal(t, http.StatusOK, getJSON(t, e, "/api/v1/graph?window=30s", "secret", &g))
	require.Equal(t, 30*time.Second, m.window)
	var er ErrorResponse
	for _, w := range []string{"1s", "2h", "soon"} {
		require.Equal(t, http.StatusBadRequest, getJSON(t, e, "/api/v1/graph?window="+w, "secret", &er))
		require.Equal(t, []string{`window: "` + w + `": want a duration from 5s to 1h0m0s (e.g. 1m)`}, er.Errors)
	}
	m.err = errors.New("prometheus: connection refused")
	require.Equal(t, http.StatusOK, getJSON(t, e, "/api/v1/graph", "secret", &g))
	require.Contains(t, g.Problems, "prometheus: connection refused", "a source failure shows, the graph still has the declared nodes")
	require.Len(t, g.Nodes, 2)

	e = newEnv(t)
	require.Equal(t, http.StatusNotImplemented, getJSON(t, e, "/api/v1/graph", "secret", &er))
}

func TestTracesEndpoints(t *testing.T) {
	traces := observe.NewTraces(observe.TracesConfig{})
	e := newEnvCfg(t, admission.FetchOptions{}, nil, func(c *Config) { c.Traces = traces })
	spans := SpansHandler(traces)
	post := func(body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		spans.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ZipkinPath, strings.NewReader(body)))
		return rec
	}
	require.Equal(t, http.StatusAccepted, post(`[{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331","name":"ingress","timestamp":1,"duration":5,
		"localEndpoint":{"serviceName":"reviews"},"tags":{"node_id":"reviews.v1.0"}}]`).Code)
	rec := post(`{}`)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "decode spans (a JSON array of Zipkin v2 spans)")
	rec = httptest.NewRecorder()
	spans.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ZipkinPath, nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)

	var list TracesResponse
	require.Equal(t, http.StatusUnauthorized, getJSON(t, e, "/api/v1/traces", "", &ErrorResponse{}))
	require.Equal(t, http.StatusOK, getJSON(t, e, "/api/v1/traces?service=reviews", "secret", &list))
	require.Len(t, list.Traces, 1)
	require.Equal(t, []string{"reviews.v1.0"}, list.Traces[0].Sidecars)
	require.Equal(t, http.StatusOK, getJSON(t, e, "/api/v1/traces?service=ratings", "secret", &list))
	require.Empty(t, list.Traces)
	var er ErrorResponse
	require.Equal(t, http.StatusBadRequest, getJSON(t, e, "/api/v1/traces?limit=0", "secret", &er))
	var one TraceResponse
	require.Equal(t, http.StatusOK, getJSON(t, e, "/api/v1/traces/0AF7651916CD43DD8448EB211C80319C", "secret", &one))
	require.Len(t, one.Spans, 1)
	require.Equal(t, http.StatusNotFound, getJSON(t, e, "/api/v1/traces/ff", "secret", &er))
	require.Equal(t, []string{"trace ff: not found (the server keeps the last traces only)"}, er.Errors)
}
