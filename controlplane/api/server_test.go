package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/crd/crdtest"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/internal/memmodules"
)

const head = crdtest.Head

const reviews = crdtest.Reviews

const canary = head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split: {weights: {v1: 90, v2: 10}}
`

type fakeStatus struct{}

func (fakeStatus) Nodes() []SidecarStatus {
	return []SidecarStatus{{ID: "reviews.v1.0", Service: "reviews", Version: "v1", Connected: true,
		Types: []TypeStatus{{Type: "listeners", Acked: "3", Sent: "4", Pending: true}}}}
}

// ObservedGeneration: a TrafficRoute is translated at generation 1, nothing else yet.
func (fakeStatus) ObservedGeneration(key crd.Key) int64 {
	if key.Kind == crd.KindTrafficRoute {
		return 1
	}
	return 0
}

func (fakeStatus) ResourceNodes(key crd.Key, gen int64) []crd.NodeStatus {
	if key.Kind == crd.KindTrafficRoute {
		return []crd.NodeStatus{{Node: "frontend.v1.0", State: crd.Acked, Version: fmt.Sprint(gen)}}
	}
	return nil
}

type env struct {
	client  *Client
	store   *store.Store
	modules *memmodules.Store
	ts      *httptest.Server
}

// newEnv serves the API on a fresh store; checkers are the admission's filter parsers stage.
func newEnv(t *testing.T, checkers ...crd.Checker) *env {
	t.Helper()
	return newEnvCfg(t, admission.FetchOptions{}, checkers, nil)
}

func newEnvCfg(t *testing.T, fetch admission.FetchOptions, checkers []crd.Checker, opt func(*Config)) *env {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	mods := &memmodules.Store{Check: func(b []byte) error {
		if len(b) < 8 || string(b[:4]) != "\x00asm" {
			return ErrNotWasm
		}
		return nil
	}}
	fetch.MaxBytes = MaxModuleBytes
	adm := admission.New(admission.Config{Store: st, Filters: checkers, Modules: admission.FetchModules(mods, fetch)})
	cfg := Config{Store: st, Token: "secret", Admission: adm, Modules: mods, Status: fakeStatus{}}
	if opt != nil {
		opt(&cfg)
	}
	srv, err := NewServer(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{client: &Client{BaseURL: ts.URL, Token: "secret"}, store: st, modules: mods, ts: ts}
}

func decode(t *testing.T, source, y string) []crd.Document {
	t.Helper()
	docs, err := crd.Decode(source, []byte(y))
	require.NoError(t, err)
	return docs
}

func TestToken(t *testing.T) {
	e := newEnv(t)
	for _, token := range []string{"", "wrong", "secret2"} {
		c := *e.client
		c.Token = token
		_, err := c.Status(context.Background())
		var ae *Error
		require.ErrorAs(t, err, &ae)
		require.Equal(t, http.StatusUnauthorized, ae.StatusCode)
		require.EqualError(t, err, "missing or wrong bearer token (set $WASMESH_TOKEN or --token; `wasmesh serve` writes it to <data dir>/token)")
	}
	_, err := e.client.Status(context.Background())
	require.NoError(t, err)
}

func TestApplyGetDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	resp, err := e.client.Apply(ctx, decode(t, "all.yaml", reviews+"---\n"+canary), false)
	require.NoError(t, err)
	require.Equal(t, uint64(1), resp.Revision)
	require.Equal(t, []store.Action{store.Created, store.Created}, []store.Action{resp.Results[0].Action, resp.Results[1].Action})

	// Dry run: predicted actions, nothing stored.
	resp, err = e.client.Apply(ctx, decode(t, "c.yaml", strings.Replace(canary, "90, v2: 10", "50, v2: 50", 1)), true)
	require.NoError(t, err)
	require.True(t, resp.DryRun)
	require.Equal(t, store.Configured, resp.Results[0].Action)
	o, err := e.client.Get(ctx, crd.Key{Kind: crd.KindTrafficRoute, Name: "reviews"})
	require.NoError(t, err)
	require.Equal(t, 90, o.(*crd.TrafficRoute).Spec.Split.Weights["v1"])
	require.Equal(t, []crd.NodeStatus{{Node: "frontend.v1.0", State: crd.Acked, Version: "1"}}, o.GetStatus().Nodes)
	require.Equal(t, int64(1), o.GetStatus().ObservedGeneration, "the status source's")

	resp, err = e.client.Apply(ctx, decode(t, "c.yaml", strings.Replace(canary, "90, v2: 10", "50, v2: 50", 1)), false)
	require.NoError(t, err)
	require.Equal(t, store.Result{Key: crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}, Action: store.Configured, Generation: 2, ResourceVersion: 2}, resp.Results[0])

	list, err := e.client.List(ctx, crd.KindService, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "reviews", list[0].Meta().Name)
	list, err = e.client.List(ctx, crd.KindService, "other")
	require.NoError(t, err)
	require.Empty(t, list)

	_, err = e.client.Get(ctx, crd.Key{Kind: crd.KindService, Name: "ratings"})
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, `Service "ratings": not found`)

	_, err = e.client.Delete(ctx, crd.Key{Kind: crd.KindService, Name: "reviews"})
	var ae *Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusConflict, ae.StatusCode)
	require.EqualError(t, err, `Service "reviews" is still referenced by TrafficRoute "reviews"; delete or change them first`)

	d, err := e.client.Delete(ctx, crd.Key{Kind: crd.KindTrafficRoute, Name: "reviews"})
	require.NoError(t, err)
	require.Equal(t, store.Deleted, d.Result.Action)
	_, err = e.client.Delete(ctx, crd.Key{Kind: crd.KindService, Name: "reviews"})
	require.NoError(t, err)

	st, err := e.client.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(4), st.Revision)
	require.Equal(t, "reviews.v1.0", st.Nodes[0].ID)
	require.Empty(t, st.Resources)
}

func TestApplyRefusedWhole(t *testing.T) {
	refusing := crd.CheckerFunc(func(_ context.Context, set *crd.Set, _ []crd.Key) error {
		var errs []error
		for _, r := range set.TrafficRoutes {
			if r.Spec.Split != nil && r.Spec.Split.Weights["v2"] == 10 {
				errs = append(errs, &crd.ObjectError{Key: crd.KeyOf(r), Err: &crd.FieldError{Path: "spec.split", Err: errors.New("canary filter: weights.v2: refused")}})
			}
		}
		return errors.Join(errs...)
	})
	e := newEnv(t, refusing)
	ctx := context.Background()

	bad := strings.Replace(canary, "v2: 10", "v3: 10", 1)
	_, err := e.client.Apply(ctx, decode(t, "canary.yaml", reviews+"---\n"+bad), false)
	var ae *Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.Equal(t, []string{`canary.yaml:15: document 2 (TrafficRoute "reviews"): spec.split.weights.v3: version "v3" is not defined on Service "reviews"`}, ae.Errors)

	_, err = e.client.Apply(ctx, decode(t, "canary.yaml", reviews+"---\n"+canary), false)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []string{`canary.yaml:15: document 2 (TrafficRoute "reviews"): spec.split: canary filter: weights.v2: refused`}, ae.Errors)

	set, rev, err := e.store.List()
	require.NoError(t, err)
	require.Zero(t, rev)
	require.Empty(t, set.Objects(), "nothing applied: not even the valid Service")
}

func TestApplyRequestChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name string
		body string
		code int
		want []string
	}{
		{"not json", "{", http.StatusBadRequest, []string{"apply request: invalid JSON: did not find expected node content"}},
		{"no documents", `{"documents": []}`, http.StatusBadRequest, []string{"no documents to apply"}},
		{
			"strict object and structure",
			`{"documents": [
			  {"source": "a.yaml", "index": 1, "object": {"apiVersion": "wasmesh.io/v1alpha1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"port": 1, "colour": 2}}},
			  {"source": "a.yaml", "index": 2, "lines": {"spec.port": 7}, "object": {"apiVersion": "wasmesh.io/v1alpha1", "kind": "Service", "metadata": {"name": "y"}, "spec": {"port": 0, "versions": [{"name": "v1", "endpoints": ["h:1"]}]}}}
			]}`,
			http.StatusUnprocessableEntity,
			[]string{
				`a.yaml: document 1 (Service "x"): spec.colour: unknown field (known: port, versions, defaultVersion, trafficPolicy)`,
				`a.yaml: document 1 (Service "x"): spec.versions: at least one version is required`,
				`a.yaml:7: document 2 (Service "y"): spec.port: must be between 1 and 65535, got 0`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.client.do(ctx, http.MethodPost, "/apply", nil, strings.NewReader(tt.body), "application/json", nil)
			var ae *Error
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.code, ae.StatusCode)
			require.Equal(t, tt.want, ae.Errors)
		})
	}
	err := e.client.do(ctx, http.MethodGet, "/nope", nil, nil, "", nil)
	require.EqualError(t, err, "no such endpoint: GET /api/v1/nope")
	_, err = e.client.List(ctx, crd.Kind("pods"), "")
	require.EqualError(t, err, `unknown kind "pods" (known: Service, TrafficRoute, FaultInjection, Telemetry, WasmPlugin, TransportPolicy, AuthorizationPolicy)`)
}

func TestModules(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	mux := http.NewServeMux()
	mux.HandleFunc("/good.wasm", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(wasm) })
	mux.HandleFunc("/other.wasm", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(append(wasm, 0)) })
	origin := httptest.NewServer(mux)
	defer origin.Close()

	e := newEnv(t)
	ctx := context.Background()
	plugin := func(module string) string {
		return reviews + "---\n" + head + "kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  module: " + module + "\n  selector: {services: [reviews]}\n"
	}

	_, err := e.client.Apply(ctx, decode(t, "p.yaml", plugin("{sha256: "+sha+"}")), false)
	require.EqualError(t, err, `p.yaml:14: document 2 (WasmPlugin "p"): spec.module.sha256: module `+sha+` is not on the server: module `+sha+`: not found`)

	_, err = e.client.PutModule(ctx, []byte("hello"))
	require.EqualError(t, err, `not a Wasm module (no \0asm header)`)
	got, err := e.client.PutModule(ctx, wasm)
	require.NoError(t, err)
	require.Equal(t, sha, got)
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", plugin("{sha256: "+sha+"}")), false)
	require.NoError(t, err)

	// A URL module is downloaded and checked against its sha256.
	e.modules.Delete(sha)
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", strings.Replace(plugin("{url: \""+origin.URL+"/other.wasm\", sha256: "+sha+"}"), "name: p}", "name: q}", 1)), false)
	require.ErrorContains(t, err, `p.yaml:14: document 2 (WasmPlugin "q"): spec.module.url: download: the module has sha256 `)
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", strings.Replace(plugin("{url: \""+origin.URL+"/good.wasm\", sha256: "+sha+"}"), "name: p}", "name: q}", 1)), false)
	require.NoError(t, err)
	_, err = e.modules.Get(sha)
	require.NoError(t, err)

	// A file module needs the CLI to upload it.
	_, err = e.client.Apply(ctx, decode(t, "p.yaml", plugin("{file: x.wasm}")), false)
	require.EqualError(t, err, "p.yaml:14: document 2 (WasmPlugin \"p\"): spec.module.sha256: required: a module file (x.wasm) is uploaded by `wasmesh apply`, which fills it")
}

// TestConcurrentAppliesSeeEachOther applies, concurrently, routes with different names for
// one Service: each commits only if the store is still at the revision it validated against
// (else it validates again), so exactly one wins.
func TestConcurrentAppliesSeeEachOther(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.Apply(ctx, decode(t, "s.yaml", reviews), false)
	require.NoError(t, err)

	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			y := strings.Replace(canary, "name: reviews}", fmt.Sprintf("name: route-%d}", i), 1)
			docs, err := crd.Decode("c.yaml", []byte(y))
			if err != nil {
				errs <- err
				return
			}
			_, err = e.client.Apply(ctx, docs, false)
			errs <- err
		}()
	}
	won := 0
	for range n {
		if err := <-errs; err == nil {
			won++
		} else {
			require.Regexp(t, `^c\.yaml:5: document 1 \(TrafficRoute "route-\d"\): spec\.service: Service "reviews" already has TrafficRoute "route-\d"$`, err.Error())
		}
	}
	require.Equal(t, 1, won)
	set, _, err := e.store.List()
	require.NoError(t, err)
	require.Len(t, set.TrafficRoutes, 1)
}
