package sdk

import (
	"strings"
	"unsafe"
)

// Headers is an ordered header list; names are lowercase (as Envoy hands them to filters).
type Headers [][2]string

// Get returns the first value of name, and whether it is present.
func (h Headers) Get(name string) (string, bool) {
	for _, kv := range h {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// Value returns the first value of name, or "".
func (h Headers) Value(name string) string {
	v, _ := h.Get(name)
	return v
}

// Request is the view of an HTTP request a filter decides on.
type Request struct {
	Method    string
	Path      string // with the query string, as in :path
	Authority string
	Scheme    string
	Headers   Headers // regular headers (pseudo-headers are in the fields above)
	Body      []byte  // the buffered body, when the filter asked for it
	// Connection is the downstream connection's security, read only when a stage asks for
	// it (ConnectionAware).
	Connection Connection
}

// Connection is what a filter knows of the downstream connection: whether it is mTLS and
// the peer certificate's first URI SAN (its SPIFFE ID in the mesh), as Envoy verified it
// (properties connection.mtls and connection.uri_san_peer_certificate).
type Connection struct {
	MTLS       bool
	PeerURISAN string
}

// ConnectionAware is a stage that decides on Request.Connection: the adapter reads the
// connection's properties (two host calls) before the stage's first request.
type ConnectionAware interface {
	HTTPFilter
	WantsConnection() bool
}

// Service is the request's service: its authority host without the port ("reviews:9080" →
// "reviews").
func (r *Request) Service() string { return ServiceOf(r.Authority) }

// ServiceOf returns an authority's host without the port.
func ServiceOf(authority string) string {
	if strings.HasPrefix(authority, "[") { // [v6]:port
		if i := strings.IndexByte(authority, ']'); i > 0 {
			return authority[:i+1]
		}
		return authority
	}
	if i := strings.IndexByte(authority, ':'); i >= 0 {
		return authority[:i]
	}
	return authority
}

// PathOnly returns the path without the query string.
func (r *Request) PathOnly() string {
	if i := strings.IndexByte(r.Path, '?'); i >= 0 {
		return r.Path[:i]
	}
	return r.Path
}

// RawQuery returns the query string without '?', or "".
func (r *Request) RawQuery() string {
	if i := strings.IndexByte(r.Path, '?'); i >= 0 {
		return r.Path[i+1:]
	}
	return ""
}

// Cookie returns the value of the cookie name from the cookie headers.
func (r *Request) Cookie(name string) (string, bool) {
	for _, kv := range r.Headers {
		if kv[0] != "cookie" {
			continue
		}
		s := kv[1]
		for s != "" {
			var part string
			if i := strings.IndexByte(s, ';'); i >= 0 {
				part, s = s[:i], s[i+1:]
			} else {
				part, s = s, ""
			}
			part = strings.TrimSpace(part)
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				return strings.Trim(part[len(name)+1:], `"`), true
			}
		}
	}
	return "", false
}

// has reports whether name is present.
func (h Headers) has(name string) bool {
	_, ok := h.Get(name)
	return ok
}

// without removes every value of name, in place.
func (h Headers) without(name string) Headers {
	out := h[:0]
	for _, kv := range h {
		if kv[0] != name {
			out = append(out, kv)
		}
	}
	return out
}

// with sets name to value as Envoy's header replace does: the first occurrence takes the
// value, later ones go; absent, it is appended.
func (h Headers) with(name, value string) Headers {
	for i, kv := range h {
		if kv[0] == name {
			h[i][1] = value
			rest := h[i+1:].without(name)
			return h[:i+1+len(rest)]
		}
	}
	return append(h, [2]string{name, value})
}

// unsafeString views b as a string without copying (for host calls that copy it).
func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
