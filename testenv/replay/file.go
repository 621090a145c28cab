package replay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wasmesh/wasmesh/testenv"
)

// File is a parsed replay file.
type File struct {
	Path    string // the file as named by the caller
	Filters []Filter
	// ExtraClusters are the file's `clusters`: clusters the filters route or dispatch to that
	// Clusters cannot find in the file.
	ExtraClusters []string
	Cases         []Case
}

// Filter is one plugin of the chain.
type Filter struct {
	// Wasm is the module's path: absolute, or as written when the file was parsed from bytes
	// without a directory to resolve it against.
	Wasm string
	// Config is the plugin configuration: a YAML string as-is, any other value as JSON; nil
	// when the file has none.
	Config []byte
	RootID string
	Line   int // where the filter starts in the file
}

// Headers are header pairs in file order; names are lowercase. It is not testenv.Headers (the
// same pairs) on purpose: a file's Get tells an absent header from an empty one, and Map is
// what the Envoy runner sends; run.go converts at the one place a case meets testenv.
type Headers [][2]string

// Get returns the value of the first header called name, and whether there is one.
func (h Headers) Get(name string) (string, bool) {
	for _, kv := range h {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// Map returns the headers as a map (the last value of a repeated name wins).
func (h Headers) Map() map[string]string {
	m := make(map[string]string, len(h))
	for _, kv := range h {
		m[kv[0]] = kv[1]
	}
	return m
}

// Request is the request a case sends. The "host" (or ":authority") header is the authority.
type Request struct {
	Method  string // default GET
	Path    string // default /
	Headers Headers
	Body    string
}

// Authority is the request's :authority: its "host" or ":authority" header, "" when neither.
func (r Request) Authority() string {
	if v, ok := r.Headers.Get(":authority"); ok {
		return v
	}
	v, _ := r.Headers.Get("host")
	return v
}

// Upstream is the upstream's answer to whatever reaches it.
type Upstream struct {
	Status  int // default 200
	Headers Headers
	Body    string
}

// Connection is a case's downstream connection as filters see it: mTLS or not, and the
// client certificate's URI SAN (properties connection.mtls, connection.uri_san_peer_certificate).
type Connection = testenv.Connection

// Case is one HTTP exchange and what is expected of it.
type Case struct {
	Name     string
	Line     int // where the case starts in the file
	Request  Request
	Upstream Upstream
	// Advance is simulated time that passes before the upstream answers.
	Advance time.Duration
	// Connection is the downstream connection's security (`connection: {mtls: true,
	// peerURISAN: spiffe://...}`); nil: plaintext.
	Connection *Connection
	Expect     Expect
}

// Expect is what a case checks; what the file leaves out is not checked.
type Expect struct {
	// UpstreamRequest is what must reach the upstream; nil when not checked or when NoUpstream.
	UpstreamRequest *ExpectUpstream
	// NoUpstream is `upstreamRequest: null`: the request must not reach any upstream.
	NoUpstream bool
	Response   *ExpectResponse
	// Metrics are plugin-defined metrics after the case, by the name the plugin gave.
	Metrics map[string]Metric
}

// Metric is an expected metric: its value after the case, or Absent (written as null): no
// plugin defined it (yet).
type Metric struct {
	Value  float64
	Absent bool
}

// ExpectUpstream is the expected request at the upstream; empty fields and nil Body are not
// checked, Headers lists only the headers checked.
type ExpectUpstream struct {
	Cluster   string // the cluster the route chose, e.g. "reviews|v2"
	Authority string
	Method    string
	Path      string
	Headers   map[string]Value // lowercase names
	Body      *Value
}

// ExpectResponse is the expected response downstream; Status 0 and nil Body are not checked,
// Headers lists only the headers checked.
type ExpectResponse struct {
	Status  int
	Headers map[string]Value // lowercase names
	Body    *Value
}

// Error is a problem at one place of a replay file.
type Error struct {
	File string
	Line int    // 0 when the problem is the whole file
	Key  string // e.g. "cases[1].expect.response.status"; "" for YAML syntax errors
	Err  error
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", where, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrMissingModule is wrapped by the error for a filter whose .wasm does not exist.
var ErrMissingModule = errors.New("no such module (run make build or wasmesh build)")

// ReadFile reads, parses and checks a replay file: filter paths are resolved against the
// file's directory and each module must exist. Every problem is reported, joined.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	for i := range f.Filters {
		fl := &f.Filters[i]
		written := fl.Wasm
		if !filepath.IsAbs(fl.Wasm) {
			fl.Wasm = filepath.Join(dir, fl.Wasm)
		}
		st, err := os.Stat(fl.Wasm)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, &Error{File: path, Line: fl.Line, Key: fmt.Sprintf("filters[%d].wasm", i),
				Err: fmt.Errorf("%s: %w", written, ErrMissingModule)})
		case err != nil:
			errs = append(errs, &Error{File: path, Line: fl.Line, Key: fmt.Sprintf("filters[%d].wasm", i), Err: err})
		case st.IsDir():
			errs = append(errs, &Error{File: path, Line: fl.Line, Key: fmt.Sprintf("filters[%d].wasm", i),
				Err: fmt.Errorf("%s is a directory, not a .wasm file", written)})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}
