package observe

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Span is one Zipkin v2 span (the fields the UI shows; https://zipkin.io/zipkin-api/).
type Span struct {
	TraceID        string            `json:"traceId"`
	ID             string            `json:"id"`
	ParentID       string            `json:"parentId,omitempty"`
	Name           string            `json:"name,omitempty"`
	Kind           string            `json:"kind,omitempty"`
	Timestamp      int64             `json:"timestamp,omitempty"` // µs since the epoch
	Duration       int64             `json:"duration,omitempty"`  // µs
	Shared         bool              `json:"shared,omitempty"`
	LocalEndpoint  *Endpoint         `json:"localEndpoint,omitempty"`
	RemoteEndpoint *Endpoint         `json:"remoteEndpoint,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

// Endpoint is a Zipkin endpoint.
type Endpoint struct {
	ServiceName string `json:"serviceName,omitempty"`
	IPv4        string `json:"ipv4,omitempty"`
	Port        int    `json:"port,omitempty"`
}

// TracesConfig bounds a Traces store. Zero values take the defaults.
type TracesConfig struct {
	// MaxTraces kept (default 500); the trace that received no span for longest goes first.
	MaxTraces int
	// MaxSpans per trace (default 256); more spans are dropped and counted.
	MaxSpans int
}

// Traces keeps the last traces the sidecars' Zipkin tracers sent, in bounded memory.
type Traces struct {
	cfg     TracesConfig
	mu      sync.Mutex
	traces  map[string]*trace
	dropped int64
	seq     int64
}

type trace struct {
	spans []Span
	seen  int64 // sequence of the last span received
}

// NewTraces returns an empty store.
func NewTraces(cfg TracesConfig) *Traces {
	if cfg.MaxTraces <= 0 {
		cfg.MaxTraces = 500
	}
	if cfg.MaxSpans <= 0 {
		cfg.MaxSpans = 256
	}
	return &Traces{cfg: cfg, traces: map[string]*trace{}}
}

// MaxSpanBytes bounds one POST of spans.
const MaxSpanBytes = 4 << 20

// Limits on a span's strings (a bigger one is cut).
const (
	maxIDLen   = 32
	maxTextLen = 512
	maxTags    = 64
)

// Ingest reads a Zipkin v2 JSON array of spans (POST /api/v2/spans) and stores them. A span
// without a trace id or id is refused, with its index; the others are kept.
func (t *Traces) Ingest(r io.Reader) (int, error) {
	var spans []Span
	if err := json.NewDecoder(io.LimitReader(r, MaxSpanBytes)).Decode(&spans); err != nil {
		return 0, fmt.Errorf("decode spans (a JSON array of Zipkin v2 spans): %w", err)
	}
	var errs []error
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for i, s := range spans {
		if !isHex(s.TraceID) || !isHex(s.ID) {
			errs = append(errs, fmt.Errorf("[%d]: traceId and id must be hex strings of at most %d characters", i, maxIDLen))
			continue
		}
		clean(&s)
		t.seq++
		tr := t.traces[s.TraceID]
		if tr == nil {
			if len(t.traces) >= t.cfg.MaxTraces {
				t.evictLocked()
			}
			tr = &trace{}
			t.traces[s.TraceID] = tr
		}
		tr.seen = t.seq
		if len(tr.spans) >= t.cfg.MaxSpans {
			t.dropped++
			continue
		}
		tr.spans = append(tr.spans, s)
		n++
	}
	return n, errors.Join(errs...)
}

func isHex(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// clean bounds a span's strings so a trace's memory is bounded by MaxSpans.
func clean(s *Span) {
	cut := func(v string) string {
		if len(v) > maxTextLen {
			return v[:maxTextLen]
		}
		return v
	}
	s.TraceID, s.ID = strings.ToLower(s.TraceID), strings.ToLower(s.ID)
	if !isHex(s.ParentID) {
		s.ParentID = ""
	}
	s.ParentID = strings.ToLower(s.ParentID)
	s.Name, s.Kind = cut(s.Name), cut(s.Kind)
	for _, e := range []*Endpoint{s.LocalEndpoint, s.RemoteEndpoint} {
		if e != nil {
			e.ServiceName, e.IPv4 = cut(e.ServiceName), cut(e.IPv4)
		}
	}
	if len(s.Tags) > 0 {
		tags := map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
			if len(tags) == maxTags {
				break
			}
			tags[cut(k)] = cut(s.Tags[k])
		}
		s.Tags = tags
	}
}

func (t *Traces) evictLocked() {
	var oldest string
	var seq int64 = -1
	for id, tr := range t.traces {
		if seq < 0 || tr.seen < seq {
			oldest, seq = id, tr.seen
		}
	}
	delete(t.traces, oldest)
}

// TraceSummary is one trace in the list.
type TraceSummary struct {
	TraceID string    `json:"traceId"`
	Root    string    `json:"root"` // the earliest span's name
	Start   time.Time `json:"start"`
	// DurationMs spans the earliest start to the latest end.
	DurationMs float64 `json:"durationMs"`
	Spans      int     `json:"spans"`
	// Services are the services (Envoy's local service name: the sidecar's Service) with spans.
	Services []string `json:"services"`
	// Sidecars are the node ids whose spans the trace holds.
	Sidecars []string `json:"sidecars"`
	// Error: some span has the error tag or a 5xx status.
	Error bool `json:"error"`
}

// Filter selects traces for List.
type Filter struct {
	// Services: every one of them has a span in the trace.
	Services []string
	// Limit caps the traces returned (default 50), newest first.
	Limit int
}

// List returns the newest traces matching f.
func (t *Traces) List(f Filter) []TraceSummary {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	t.mu.Lock()
	type item struct {
		seen int64
		s    TraceSummary
	}
	var items []item
	for id, tr := range t.traces {
		s := summarize(id, tr.spans)
		ok := true
		for _, want := range f.Services {
			if !slices.Contains(s.Services, want) {
				ok = false
			}
		}
		if ok {
			items = append(items, item{tr.seen, s})
		}
	}
	t.mu.Unlock()
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(b.s.Start.Compare(a.s.Start), cmp.Compare(b.seen, a.seen))
	})
	out := []TraceSummary{}
	for i := 0; i < len(items) && i < f.Limit; i++ {
		out = append(out, items[i].s)
	}
	return out
}

// Get returns a trace's spans, earliest first (false: no such trace).
func (t *Traces) Get(id string) ([]Span, bool) {
	t.mu.Lock()
	tr, ok := t.traces[strings.ToLower(id)]
	var spans []Span
	if ok {
		spans = slices.Clone(tr.spans)
	}
	t.mu.Unlock()
	slices.SortStableFunc(spans, func(a, b Span) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return spans, ok
}

// TracesStats is what the store holds.
type TracesStats struct {
	Traces  int   `json:"traces"`
	Spans   int   `json:"spans"`
	Dropped int64 `json:"droppedSpans"`
}

// Stats reports the stored traces and spans.
func (t *Traces) Stats() TracesStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := TracesStats{Traces: len(t.traces), Dropped: t.dropped}
	for _, tr := range t.traces {
		st.Spans += len(tr.spans)
	}
	return st
}

func summarize(id string, spans []Span) TraceSummary {
	s := TraceSummary{TraceID: id, Spans: len(spans), Services: []string{}, Sidecars: []string{}}
	var first, end int64
	for i, sp := range spans {
		if i == 0 || sp.Timestamp < first {
			first, s.Root = sp.Timestamp, sp.Name
		}
		end = max(end, sp.Timestamp+sp.Duration)
		if sp.LocalEndpoint != nil && sp.LocalEndpoint.ServiceName != "" && !slices.Contains(s.Services, sp.LocalEndpoint.ServiceName) {
			s.Services = append(s.Services, sp.LocalEndpoint.ServiceName)
		}
		if n := sp.Tags["node_id"]; n != "" && !slices.Contains(s.Sidecars, n) {
			s.Sidecars = append(s.Sidecars, n)
		}
		if sp.Tags["error"] != "" || strings.HasPrefix(sp.Tags["http.status_code"], "5") {
			s.Error = true
		}
	}
	slices.Sort(s.Services)
	slices.Sort(s.Sidecars)
	s.Start = time.UnixMicro(first).UTC()
	s.DurationMs = float64(end-first) / 1000
	return s
}
