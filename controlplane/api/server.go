package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/observe"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/internal/yamlstrict"
)

// MaxRequestBytes bounds an API request body (an apply; a module upload is bounded by
// MaxModuleBytes).
const MaxRequestBytes = 64 << 20

// ModuleStore holds Wasm modules by SHA-256 (hex). The bytes under a hash never change.
type ModuleStore interface {
	// Put stores the module r streams (at most MaxModuleBytes; it starts with the Wasm
	// header) and returns its SHA-256 and size; want, when set, is the SHA-256 the bytes must
	// have. Errors wrap ErrNotWasm, ErrTooLarge or ErrStorageFull when those are the cause.
	Put(ctx context.Context, r io.Reader, want string) (sha256 string, size int64, err error)
	// Get returns the bytes of a module, or an error wrapping ErrNotFound.
	Get(sha256 string) ([]byte, error)
	// Has reports whether the store holds a module.
	Has(sha256 string) bool
}

// MaxModuleBytes bounds one module (an upload or a download).
const MaxModuleBytes = 64 << 20

// Errors a ModuleStore wraps.
var (
	ErrNotWasm     = errors.New("not a Wasm module (no \\0asm header)")
	ErrTooLarge    = fmt.Errorf("module larger than %d MiB", MaxModuleBytes>>20)
	ErrStorageFull = errors.New("module storage is full")
)

// StatusSource reports the xDS side of the status: the nodes and, per resource, the nodes
// whose configuration carries it. The serve command adapts the xDS server to it.
type StatusSource interface {
	Nodes() []NodeStatus
	// ResourceNodes returns the nodes that run the resource (nil when none).
	ResourceNodes(key crd.Key, generation int64) []crd.NodeStatus
}

// Config configures a Server.
type Config struct {
	// Store holds the resources (required).
	Store *store.Store
	// Token is the bearer token every request must carry (required).
	Token string
	// Checkers are the validation stages after structure and references (filter config
	// parsers, WasmPlugin dry runs), in order.
	Checkers []crd.Checker
	// Modules holds uploaded Wasm modules (nil: WasmPlugins that name a module are refused).
	Modules ModuleStore
	// Status reports the xDS side (nil: status shows no nodes).
	Status StatusSource
	// Credentials mint sidecar xDS credentials for POST /api/v1/credentials (nil: the
	// endpoint answers 501).
	Credentials interface{ Token(nodeID string) string }
	// FetchConnectTimeout and FetchTimeout bound the download of a WasmPlugin module given
	// by URL: connecting, and the whole download (defaults 5s and 60s). The size is bounded
	// by MaxModuleBytes.
	FetchConnectTimeout, FetchTimeout time.Duration
	// Log receives one line per refused or failed request (nil: discarded).
	Log *slog.Logger
	// Metrics is where GET /api/v1/graph reads traffic (nil: the endpoint answers 501).
	Metrics observe.Source
	// GraphOptions add what the metrics cannot say (mTLS per edge).
	GraphOptions observe.GraphOptions
	// Traces holds the spans for GET /api/v1/traces (nil: the endpoints answer 501).
	Traces *observe.Traces
}

// Server serves the API.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	fetch *http.Client
}

// NewServer returns the API server for cfg.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: a store is required")
	}
	if cfg.Token == "" {
		return nil, errors.New("api: a token is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.FetchConnectTimeout <= 0 {
		cfg.FetchConnectTimeout = 5 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 60 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), fetch: &http.Client{
		Timeout: cfg.FetchTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: cfg.FetchConnectTimeout}).DialContext,
			TLSHandshakeTimeout:   cfg.FetchConnectTimeout,
			ResponseHeaderTimeout: cfg.FetchTimeout,
			MaxIdleConns:          4,
			IdleConnTimeout:       30 * time.Second,
		},
	}}
	s.mux.HandleFunc("POST "+Prefix+"/apply", s.apply)
	s.mux.HandleFunc("GET "+Prefix+"/resources/{kind}", s.list)
	s.mux.HandleFunc("GET "+Prefix+"/resources/{kind}/{name}", s.get)
	s.mux.HandleFunc("DELETE "+Prefix+"/resources/{kind}/{name}", s.delete)
	s.mux.HandleFunc("GET "+Prefix+"/status", s.status)
	s.mux.HandleFunc("PUT "+Prefix+"/modules", s.putModule)
	s.mux.HandleFunc("POST "+Prefix+"/credentials", s.credential)
	s.mux.HandleFunc("GET "+Prefix+"/graph", s.graph)
	s.mux.HandleFunc("GET "+Prefix+"/traces", s.traces)
	s.mux.HandleFunc("GET "+Prefix+"/traces/{id}", s.trace)
	s.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s, nil
}

// ServeHTTP checks the bearer token and serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const scheme = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme) || h[:len(scheme)] != scheme ||
		subtle.ConstantTimeCompare([]byte(h[len(scheme):]), []byte(s.cfg.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wasmesh"`)
		s.fail(w, r, http.StatusUnauthorized, errors.New("missing or wrong bearer token (set $WASMESH_TOKEN or --token; `wasmesh serve` writes it to <data dir>/token)"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	s.mux.ServeHTTP(w, r)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	msgs := Messages(err)
	s.cfg.Log.Info("api request refused", "method", r.Method, "path", r.URL.Path, "status", code, "problems", len(msgs))
	writeJSON(w, code, ErrorResponse{Errors: msgs})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	var req ApplyRequest
	if err := decodeRequest(r.Body, &req); err != nil {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("apply request: %w", err))
		return
	}
	if len(req.Documents) == 0 {
		s.fail(w, r, http.StatusBadRequest, errors.New("no documents to apply"))
		return
	}
	docs, err := s.documents(req.Documents)
	if err != nil {
		s.fail(w, r, http.StatusUnprocessableEntity, err)
		return
	}
	objs := make([]crd.Object, len(docs))
	for i, d := range docs {
		objs[i] = d.Object
	}
	checkers := append([]crd.Checker{crd.CheckerFunc(s.checkModules)}, s.cfg.Checkers...)
	// Admission (module downloads, dry runs) runs outside the store's write lock, on the
	// state List returns; the write then commits only if the store is still at that revision
	// and the client is still there. A concurrent write in between means validating again.
	ctx := r.Context()
	for attempt := 1; ; attempt++ {
		set, rev, err := s.cfg.Store.List()
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if err := crd.ValidateApply(ctx, docs, set, checkers...); err != nil {
			if ctx.Err() != nil {
				s.cfg.Log.Info("apply abandoned by its client: not committed", "err", ctx.Err())
				return
			}
			s.fail(w, r, http.StatusUnprocessableEntity, err)
			return
		}
		if req.DryRun {
			writeJSON(w, http.StatusOK, ApplyResponse{Results: dryResults(set, objs, rev), Revision: rev, DryRun: true})
			return
		}
		results, err := s.cfg.Store.ApplyIf(ctx, objs, rev)
		switch {
		case errors.Is(err, store.ErrConflict) && attempt < maxApplyAttempts:
			continue
		case errors.Is(err, store.ErrConflict):
			s.fail(w, r, http.StatusConflict, fmt.Errorf("%w %d times while this apply was validated: apply again", err, attempt))
			return
		case ctx.Err() != nil:
			s.cfg.Log.Info("apply abandoned by its client: not committed", "err", ctx.Err())
			return
		case err != nil:
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		newRev, err := s.cfg.Store.Revision()
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, ApplyResponse{Results: results, Revision: newRev})
		return
	}
}

// maxApplyAttempts bounds how often an apply is validated again because other writes
// committed while it was validated (a later attempt is quick: modules fetched by an earlier
// one are on the server).
const maxApplyAttempts = 5

// dryResults predicts what an apply would do, without generations.
func dryResults(stored *crd.Set, objs []crd.Object, rev uint64) []store.Result {
	byKey := map[crd.Key]crd.Object{}
	for _, o := range stored.Objects() {
		byKey[crd.KeyOf(o)] = o
	}
	out := make([]store.Result, len(objs))
	for i, o := range objs {
		k := crd.KeyOf(o)
		res := store.Result{Key: k, Action: store.Created}
		if old, ok := byKey[k]; ok {
			res.Action, res.Generation, res.ResourceVersion = store.Configured, old.Meta().Generation, old.Meta().ResourceVersion
			if string(old.SpecJSON()) == string(o.SpecJSON()) && maps.Equal(old.Meta().Labels, o.Meta().Labels) {
				res.Action = store.Unchanged
			}
		}
		out[i] = res
	}
	return out
}

// decodeRequest decodes a request body (JSON) strictly into v with the decoder of resources,
// so that its problems read as the CLI's: `documents[0].objet: unknown field (did you mean
// "object"?)`. Every node of a body without aliases is at least one byte of it, so a budget
// of its size refuses only alias expansion.
func decodeRequest(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	roots, err := yamlstrict.Documents(data)
	var se *yamlstrict.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON: %s", se.Problem) // the body is one line or few: no line
	case err != nil:
		return err
	case len(roots) != 1:
		return fmt.Errorf("expected one JSON object, got %d documents", len(roots))
	}
	w := yamlstrict.New(len(data) + 1)
	w.Decode(roots[0], "", v)
	var errs []error
	for _, e := range w.Errors() {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// documents turns wire documents into crd documents: strict decoding and structure
// validation again (the client may not be ours), with the decoder of `wasmesh apply`, so that
// every problem reads as the CLI's and, with the lines the client sent, names the same line.
func (s *Server) documents(in []Document) ([]crd.Document, error) {
	var errs []error
	docs := make([]crd.Document, 0, len(in))
	for _, w := range in {
		where := crd.Document{Source: w.Source, Index: w.Index, Line: w.Line, Lines: w.Lines}
		if where.Source == "" {
			where.Source = "<request>"
		}
		d, err := crd.DecodeObject(where, w.Object)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	seen := map[crd.Key]bool{}
	for i := range docs {
		k := crd.KeyOf(docs[i].Object)
		if seen[k] {
			errs = append(errs, docs[i].Errorf("metadata.name", "%s %q appears twice in the request", k.Kind, k.Name))
		}
		seen[k] = true
	}
	return docs, errors.Join(errs...)
}

// checkModules makes sure every changed WasmPlugin's module is on the server: a module
// given by URL is downloaded and checked against its SHA-256.
func (s *Server) checkModules(ctx context.Context, set *crd.Set, changed []crd.Key) error {
	var errs []error
	for _, p := range set.WasmPlugins {
		key := crd.KeyOf(p)
		if !slices.Contains(changed, key) {
			continue
		}
		fail := func(path string, err error) {
			errs = append(errs, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: path, Err: err}})
		}
		m := p.Spec.Module
		switch {
		case s.cfg.Modules == nil:
			fail("spec.module", errors.New("this server has no module store"))
		case m.SHA256 == "":
			fail("spec.module.sha256", fmt.Errorf("required: a module file (%s) is uploaded by `wasmesh apply`, which fills it", m.File))
		case m.URL != "":
			if s.cfg.Modules.Has(m.SHA256) {
				continue
			}
			if err := s.fetchModule(ctx, m.URL, m.SHA256); err != nil {
				fail("spec.module.url", err)
			}
		default:
			if !s.cfg.Modules.Has(m.SHA256) {
				fail("spec.module.sha256", fmt.Errorf("module %s is not on the server: module %s: %w", m.SHA256, m.SHA256, ErrNotFound))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Server) fetchModule(ctx context.Context, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.fetch.Do(req)
	if err != nil {
		return fmt.Errorf("download (connect timeout %v, total %v): %w", s.cfg.FetchConnectTimeout, s.cfg.FetchTimeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download: %s", resp.Status)
	}
	if resp.ContentLength > MaxModuleBytes {
		return fmt.Errorf("download: %w", ErrTooLarge)
	}
	if _, _, err := s.cfg.Modules.Put(ctx, resp.Body, want); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return nil
}

func (s *Server) kindParam(w http.ResponseWriter, r *http.Request) (crd.Kind, bool) {
	k, err := crd.ParseKind(r.PathValue("kind"))
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return "", false
	}
	return k, true
}

func namespace(r *http.Request) string {
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		return ns
	}
	return crd.DefaultNamespace
}

func (s *Server) withStatus(o crd.Object) crd.Object {
	if s.cfg.Status != nil {
		o.GetStatus().Nodes = s.cfg.Status.ResourceNodes(crd.KeyOf(o), o.Meta().Generation)
	}
	return o
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	kind, ok := s.kindParam(w, r)
	if !ok {
		return
	}
	set, rev, err := s.cfg.Store.List()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	all := r.URL.Query().Get("namespace") == "*"
	ns := namespace(r)
	resp := ListResponse{Revision: rev, Items: []json.RawMessage{}}
	for _, o := range set.Objects() {
		k := crd.KeyOf(o)
		if k.Kind != kind || (!all && k.Namespace != ns) {
			continue
		}
		b, err := crd.Marshal(s.withStatus(o))
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		resp.Items = append(resp.Items, b)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	kind, ok := s.kindParam(w, r)
	if !ok {
		return
	}
	o, err := s.cfg.Store.Get(crd.Key{Kind: kind, Namespace: namespace(r), Name: r.PathValue("name")})
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, err)
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withStatus(o))
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	kind, ok := s.kindParam(w, r)
	if !ok {
		return
	}
	key := crd.Key{Kind: kind, Namespace: namespace(r), Name: r.PathValue("name")}
	res, err := s.cfg.Store.Delete(key, func(stored *crd.Set) error {
		if err := r.Context().Err(); err != nil {
			return fmt.Errorf("not committed: %w", err) // the client went away
		}
		return crd.CheckDelete(stored, key)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, err)
		return
	case errors.Is(err, crd.ErrInUse):
		s.fail(w, r, http.StatusConflict, err)
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, DeleteResponse{Result: res})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	set, rev, err := s.cfg.Store.List()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	resp := StatusResponse{Revision: rev, Nodes: []NodeStatus{}, Resources: []ResourceStatus{}}
	if s.cfg.Status != nil {
		resp.Nodes = append(resp.Nodes, s.cfg.Status.Nodes()...)
	}
	for _, o := range set.Objects() {
		rs := ResourceStatus{Key: crd.KeyOf(o), Generation: o.Meta().Generation}
		if s.cfg.Status != nil {
			rs.Nodes = s.cfg.Status.ResourceNodes(rs.Key, rs.Generation)
		}
		resp.Resources = append(resp.Resources, rs)
	}
	resp.Services, resp.StatsErrors = readSidecarStats(r.Context(), resp.Nodes)
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) putModule(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Modules == nil {
		s.fail(w, r, http.StatusNotImplemented, errors.New("this server has no module store"))
		return
	}
	if r.ContentLength > MaxModuleBytes {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("read module: %w", ErrTooLarge))
		return
	}
	sha, size, err := s.cfg.Modules.Put(r.Context(), r.Body, "")
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNotWasm):
		s.fail(w, r, http.StatusBadRequest, err)
	case errors.Is(err, ErrTooLarge) || errors.As(err, &mbe):
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("read module: %w", ErrTooLarge))
	case errors.Is(err, ErrStorageFull):
		s.fail(w, r, http.StatusInsufficientStorage, err)
	case errors.Is(err, context.Canceled):
		s.cfg.Log.Info("module upload abandoned by its client")
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, err)
	default:
		writeJSON(w, http.StatusOK, ModuleResponse{SHA256: sha, Size: int(size)})
	}
}

// credential mints the xDS credential of one sidecar node id: whoever holds the API token may
// bootstrap a sidecar.
func (s *Server) credential(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Credentials == nil {
		s.fail(w, r, http.StatusNotImplemented, errors.New("this server issues no sidecar credentials"))
		return
	}
	var req CredentialRequest
	if err := decodeRequest(r.Body, &req); err != nil {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("credential request: %w", err))
		return
	}
	if req.Node == "" || len(req.Node) > 253 {
		s.fail(w, r, http.StatusBadRequest, errors.New("node: required, the sidecar's node id (at most 253 characters)"))
		return
	}
	writeJSON(w, http.StatusOK, CredentialResponse{Node: req.Node, Token: s.cfg.Credentials.Token(req.Node)})
}
