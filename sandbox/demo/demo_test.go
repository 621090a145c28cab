package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeSidecar stands in for an outbound listener: it routes by Host to the named upstream and
// records the Host and headers it saw.
type fakeSidecar struct {
	routes map[string]http.Handler
	seen   []*http.Request
}

func (f *fakeSidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.seen = append(f.seen, r.Clone(context.Background()))
	h, ok := f.routes[r.Host]
	if !ok {
		http.Error(w, "no route to "+r.Host, http.StatusNotFound)
		return
	}
	h.ServeHTTP(w, r)
}

func TestChainPropagatesHeaders(t *testing.T) {
	tests := []struct {
		name       string
		ratings    http.Handler
		header     map[string]string
		wantChain  []string
		wantError  string
		wantStatus int
	}{
		{
			name:      "three hops, headers carried",
			header:    map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "x-request-id": "r-1", "x-canary": "always", "x-wasmesh-fault": "abort=503"},
			wantChain: []string{"frontend:v1", "reviews:v2", "ratings:v1"},
		},
		{
			name: "ratings aborted by the mesh",
			ratings: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "fault filter abort", http.StatusServiceUnavailable)
			}),
			wantChain:  []string{"frontend:v1", "reviews:v2", "ratings:"},
			wantError:  "ratings answered 503: fault filter abort",
			wantStatus: http.StatusServiceUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			side := &fakeSidecar{routes: map[string]http.Handler{}}
			ts := httptest.NewServer(side)
			defer ts.Close()
			out := ts.Listener.Addr().String()
			side.routes["ratings"] = Handler(Config{Service: "ratings", Version: "v1", Instance: "ratings.v1.0"})
			if tt.ratings != nil {
				side.routes["ratings"] = tt.ratings
			}
			side.routes["reviews"] = Handler(Config{Service: "reviews", Version: "v2", Instance: "reviews.v2.0", Next: "ratings", Outbound: out})
			front := httptest.NewServer(Handler(Config{Service: "frontend", Version: "v1", Instance: "frontend.v1.0", Next: "reviews", Outbound: out}))
			defer front.Close()

			req, err := http.NewRequest(http.MethodGet, front.URL+"/productpage?u=1", nil)
			require.NoError(t, err)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Equal(t, "frontend:v1", res.Header.Get("x-demo-service"))
			var rep Reply
			require.NoError(t, json.NewDecoder(res.Body).Decode(&rep))
			require.Equal(t, tt.wantChain, rep.Versions())
			reviews := rep.Hop("reviews")
			require.NotNil(t, reviews)
			require.Equal(t, "black", reviews.Color)
			require.Equal(t, tt.wantError, reviews.Error)
			require.Equal(t, tt.wantStatus, reviews.Status)

			require.Len(t, side.seen, 2)
			require.Equal(t, "reviews", side.seen[0].Host)
			require.Equal(t, "ratings", side.seen[1].Host)
			for _, r := range side.seen {
				require.Equal(t, "/productpage?u=1", r.URL.RequestURI())
				for k, v := range tt.header {
					require.Equal(t, v, r.Header.Get(k), "header %s at %s", k, r.Host)
				}
			}
			if tt.header["x-request-id"] != "" {
				require.Equal(t, "r-1", rep.RequestID)
				require.Equal(t, "r-1", reviews.RequestID)
			}
		})
	}
}

func TestHealthzDoesNotCallNextHop(t *testing.T) {
	h := Handler(Config{Service: "frontend", Version: "v1", Next: "reviews", Outbound: "127.0.0.1:1"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "ok frontend v1\n", rec.Body.String())
}
