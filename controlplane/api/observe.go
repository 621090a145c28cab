package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/observe"
)

// Graph windows: the default and the bounds GET /api/v1/graph accepts.
const (
	DefaultGraphWindow = time.Minute
	MinGraphWindow     = 5 * time.Second
	MaxGraphWindow     = time.Hour
)

// graph serves GET /api/v1/graph?window=1m: the service graph over the window.
func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		s.fail(w, r, http.StatusNotImplemented, errors.New("this server has no metrics source"))
		return
	}
	window := DefaultGraphWindow
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < MinGraphWindow || d > MaxGraphWindow {
			s.fail(w, r, http.StatusBadRequest, fmt.Errorf("window: %q: want a duration from %v to %v (e.g. 1m)", v, MinGraphWindow, MaxGraphWindow))
			return
		}
		window = d
	}
	set, _, err := s.cfg.Store.List()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	var sidecars []observe.Sidecar
	if s.cfg.Status != nil {
		for _, n := range s.cfg.Status.Nodes() {
			sidecars = append(sidecars, sidecarOf(n))
		}
	}
	edges, err := s.cfg.Metrics.Edges(r.Context(), window)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	g := observe.BuildGraph(set, sidecars, edges, window, s.cfg.GraphOptions)
	g.Source = s.cfg.Metrics.Name()
	g.Problems = append(problems, s.cfg.Metrics.Problems()...)
	writeJSON(w, http.StatusOK, g)
}

// sidecarOf is a node as the graph shows it: ACKed when connected and every type it
// subscribed to is acknowledged at the version last sent.
func sidecarOf(n SidecarStatus) observe.Sidecar {
	sc := observe.Sidecar{ID: n.ID, Service: n.Service, Version: n.Version, Connected: n.Connected, Acked: n.Connected && len(n.Types) > 0}
	for _, t := range n.Types {
		if !t.Current() {
			sc.Acked = false
		}
		if t.NACK != "" {
			sc.Acked = false
			sc.Errors = append(sc.Errors, fmt.Sprintf("%s version %s refused: %s", t.Type, t.NACKVersion, t.NACK))
		}
	}
	if n.Error != "" {
		sc.Errors = append(sc.Errors, n.Error)
	}
	return sc
}

// traces serves GET /api/v1/traces?service=a&service=b&limit=50: the newest traces with a
// span from every named service.
func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Traces == nil {
		s.fail(w, r, http.StatusNotImplemented, errors.New("this server keeps no traces"))
		return
	}
	f := observe.Filter{Services: r.URL.Query()["service"]}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, http.StatusBadRequest, fmt.Errorf("limit: %q: want 1 to 1000", v))
			return
		}
		f.Limit = n
	}
	writeJSON(w, http.StatusOK, TracesResponse{Traces: s.cfg.Traces.List(f), Stats: s.cfg.Traces.Stats()})
}

// trace serves GET /api/v1/traces/{id}: one trace's spans, earliest first.
func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Traces == nil {
		s.fail(w, r, http.StatusNotImplemented, errors.New("this server keeps no traces"))
		return
	}
	spans, ok := s.cfg.Traces.Get(r.PathValue("id"))
	if !ok {
		s.fail(w, r, http.StatusNotFound, fmt.Errorf("trace %s: %w (the server keeps the last traces only)", r.PathValue("id"), ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, TraceResponse{TraceID: r.PathValue("id"), Spans: spans})
}

// TracesResponse is the answer to GET /api/v1/traces.
type TracesResponse struct {
	Traces []observe.TraceSummary `json:"traces"`
	Stats  observe.TracesStats    `json:"stats"`
}

// TraceResponse is the answer to GET /api/v1/traces/{id}.
type TraceResponse struct {
	TraceID string         `json:"traceId"`
	Spans   []observe.Span `json:"spans"`
}

// ZipkinPath is where the control plane accepts Zipkin v2 JSON spans (Envoy's zipkin tracer
// collector_endpoint).
const ZipkinPath = "/api/v2/spans"

// SpansHandler accepts Zipkin v2 JSON spans for traces: POST /api/v2/spans. It needs no
// token (Envoy's tracer sends none); what it keeps is bounded (observe.TracesConfig) and
// only shown to API clients.
func SpansHandler(traces *observe.Traces) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Errors: []string{"POST Zipkin v2 JSON spans here"}})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, observe.MaxSpanBytes)
		if _, err := traces.Ingest(r.Body); err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Errors: Messages(err)})
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}
