package replay

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wasmesh/wasmesh/internal/yamlstrict"
)

// Parse parses a replay file's content; name is used in messages. Filter paths stay as
// written (ReadFile resolves them). Every problem is reported, joined, each as an *Error
// naming name:line and the key. The file is walked by the strict decoder of the CRDs
// (internal/yamlstrict), so its problems read as `wasmesh apply`'s do.
func Parse(name string, data []byte) (*File, error) {
	roots, err := yamlstrict.Documents(data)
	var se *yamlstrict.SyntaxError
	switch {
	case errors.As(err, &se):
		return nil, &Error{File: name, Line: se.Line, Err: se}
	case err != nil:
		return nil, &Error{File: name, Err: err}
	case len(roots) == 0:
		return nil, &Error{File: name, Err: errors.New("empty file (want the keys filters and cases)")}
	case len(roots) > 1:
		return nil, &Error{File: name, Line: roots[1].Line, Err: errors.New("a second YAML document: a replay file holds one")}
	}
	p := &parser{w: yamlstrict.New(0)}
	f := p.file(roots[0])
	if errs := p.w.Errors(); len(errs) > 0 {
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = &Error{File: name, Line: e.Line, Key: e.Path, Err: e.Err}
		}
		return nil, errors.Join(out...)
	}
	f.Path = name
	return f, nil
}

// parser holds the schema of replay files; the walker reports its problems.
type parser struct {
	w *yamlstrict.Walker
}

func (p *parser) errorf(n *yaml.Node, key, format string, args ...any) {
	p.w.Errorf(n, key, format, args...)
}

func (p *parser) file(root *yaml.Node) *File {
	f := &File{}
	m := p.mapping(root, "", "filters", "clusters", "cases")
	if m == nil {
		return f
	}
	if n := m.required("filters"); n != nil {
		fns, _ := p.w.Sequence(n, "filters")
		for i, fn := range fns {
			f.Filters = append(f.Filters, p.filter(fn, yamlstrict.Index("filters", i)))
		}
		if len(f.Filters) == 0 && n.Kind == yaml.SequenceNode {
			p.errorf(n, "filters", "at least one filter is required")
		}
	}
	if n := m.get("clusters"); n != nil && !yamlstrict.IsNull(n) {
		cns, _ := p.w.Sequence(n, "clusters")
		for i, cn := range cns {
			key := yamlstrict.Index("clusters", i)
			if s, ok := p.str(cn, key); ok {
				switch {
				case s == "" || strings.ContainsAny(s, " \t"):
					p.errorf(cn, key, "%q is not a cluster name (like reviews|v2)", s)
				case s == "default":
					p.errorf(cn, key, `"default" is the cluster of requests without a routing header; it always exists`)
				default:
					f.ExtraClusters = append(f.ExtraClusters, s)
				}
			}
		}
	}
	if n := m.required("cases"); n != nil {
		seen := map[string]int{}
		cns, _ := p.w.Sequence(n, "cases")
		for i, cn := range cns {
			key := yamlstrict.Index("cases", i)
			c := p.caseOf(cn, key)
			if j, ok := seen[c.Name]; ok && c.Name != "" {
				p.errorf(cn, key+".name", "%q repeats the name of cases[%d]", c.Name, j)
			} else {
				seen[c.Name] = i
			}
			f.Cases = append(f.Cases, c)
		}
		if len(f.Cases) == 0 && n.Kind == yaml.SequenceNode {
			p.errorf(n, "cases", "at least one case is required")
		}
	}
	return f
}

// fields is a YAML mapping's values by key.
type fields struct {
	node   *yaml.Node
	key    string
	p      *parser
	values map[string]*yaml.Node
}

// mapping checks that n is a mapping holding only known keys, each once.
func (p *parser) mapping(n *yaml.Node, key string, known ...string) *fields {
	values, ok := p.w.Mapping(n, key, known...)
	if !ok {
		return nil
	}
	return &fields{node: yamlstrict.Resolve(n), key: key, p: p, values: values}
}

func (f *fields) get(name string) *yaml.Node { return f.values[name] }

// required returns the key's value, reporting it when it is absent or null.
func (f *fields) required(name string) *yaml.Node {
	n := f.values[name]
	if n == nil {
		f.p.errorf(f.node, yamlstrict.JoinKey(f.key, name), "required")
		return nil
	}
	if yamlstrict.IsNull(n) {
		f.p.errorf(n, yamlstrict.JoinKey(f.key, name), "required, got null")
		return nil
	}
	return n
}

// str reads a scalar as text; ok is false (and the problem reported) for anything else.
func (p *parser) str(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || yamlstrict.IsNull(n) {
		p.errorf(n, key, "expected a string, got %s", yamlstrict.Describe(n))
		return "", false
	}
	return n.Value, true
}

// optStr is str for an optional key: absent or null is "".
func (p *parser) optStr(n *yaml.Node, key string) string {
	if n == nil || yamlstrict.IsNull(n) {
		return ""
	}
	s, _ := p.str(n, key)
	return s
}

func (p *parser) status(n *yaml.Node, key string) int {
	if n == nil || yamlstrict.IsNull(n) {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, key, "expected an HTTP status code, got %s", yamlstrict.Describe(n))
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < 100 || v > 599 {
		p.errorf(n, key, "%s is not an HTTP status code (100-599)", n.Value)
		return 0
	}
	return v
}

// entries reads a mapping of names (headers, metrics) to values; what says what it maps.
func (p *parser) entries(n *yaml.Node, key, what string) ([]yamlstrict.Entry, bool) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "expected a mapping of %s, got %s", what, yamlstrict.Describe(n))
		return nil, false
	}
	return p.w.Entries(n, key)
}

// eachHeader calls fn, in file order, for each entry of a mapping of header names to
// values; names are lowercased and each is written once, in any case.
func (p *parser) eachHeader(n *yaml.Node, key string, fn func(name string, e yamlstrict.Entry)) {
	es, _ := p.entries(n, key, "header names to values")
	seen := map[string]bool{}
	for _, e := range es {
		name := strings.ToLower(e.Key)
		switch {
		case name == "":
			p.errorf(e.Node, key, "expected a header name, got %s", yamlstrict.Describe(e.Node))
		case seen[name]:
			p.errorf(e.Node, e.Path, "duplicate header (names are case-insensitive)")
		default:
			seen[name] = true
			fn(name, e)
		}
	}
}

// headers reads a mapping of header names to values; names are lowercased.
func (p *parser) headers(n *yaml.Node, key string) Headers {
	if n == nil || yamlstrict.IsNull(n) {
		return nil
	}
	var h Headers
	p.eachHeader(n, key, func(name string, e yamlstrict.Entry) {
		if v, ok := p.str(e.Value, e.Path); ok {
			h = append(h, [2]string{name, v})
		}
	})
	return h
}

func (p *parser) filter(n *yaml.Node, key string) Filter {
	fl := Filter{Line: n.Line}
	m := p.mapping(n, key, "wasm", "config", "rootId")
	if m == nil {
		return fl
	}
	if wn := m.required("wasm"); wn != nil {
		if s, ok := p.str(wn, key+".wasm"); ok {
			fl.Wasm = s
			if s == "" {
				p.errorf(wn, key+".wasm", "required, got an empty string")
			}
		}
	}
	fl.RootID = p.optStr(m.get("rootId"), key+".rootId")
	if cn := m.get("config"); cn != nil && !yamlstrict.IsNull(cn) {
		if cn.Kind == yaml.ScalarNode && cn.ShortTag() == "!!str" {
			fl.Config = []byte(cn.Value)
		} else if b, ok := p.w.JSON(cn, key+".config"); ok {
			fl.Config = b
		}
	}
	return fl
}

func (p *parser) caseOf(n *yaml.Node, key string) Case {
	c := Case{Line: n.Line}
	m := p.mapping(n, key, "name", "request", "connection", "upstream", "advance", "expect")
	if m == nil {
		return c
	}
	if nn := m.required("name"); nn != nil {
		if s, ok := p.str(nn, key+".name"); ok {
			c.Name = strings.TrimSpace(s)
			if c.Name == "" {
				p.errorf(nn, key+".name", "required, got an empty string")
			}
		}
	}
	c.Request = Request{Method: "GET", Path: "/"}
	if rn := m.get("request"); rn != nil && !yamlstrict.IsNull(rn) {
		k := key + ".request"
		if rm := p.mapping(rn, k, "method", "path", "headers", "body"); rm != nil {
			if s := p.optStr(rm.get("method"), k+".method"); s != "" {
				c.Request.Method = s
			}
			if s := p.optStr(rm.get("path"), k+".path"); s != "" {
				if !strings.HasPrefix(s, "/") {
					p.errorf(rm.get("path"), k+".path", "%q does not start with /", s)
				}
				c.Request.Path = s
			}
			c.Request.Headers = p.headers(rm.get("headers"), k+".headers")
			c.Request.Body = p.optStr(rm.get("body"), k+".body")
		}
	}
	c.Upstream = Upstream{Status: 200}
	if un := m.get("upstream"); un != nil && !yamlstrict.IsNull(un) {
		k := key + ".upstream"
		if um := p.mapping(un, k, "status", "headers", "body"); um != nil {
			if s := p.status(um.get("status"), k+".status"); s != 0 {
				c.Upstream.Status = s
			}
			c.Upstream.Headers = p.headers(um.get("headers"), k+".headers")
			c.Upstream.Body = p.optStr(um.get("body"), k+".body")
		}
	}
	if an := m.get("advance"); an != nil && !yamlstrict.IsNull(an) {
		c.Advance = p.duration(an, key+".advance")
	}
	if cn := m.get("connection"); cn != nil && !yamlstrict.IsNull(cn) {
		k := key + ".connection"
		if cm := p.mapping(cn, k, "mtls", "peerURISAN"); cm != nil {
			c.Connection = &Connection{}
			if bn := cm.get("mtls"); bn != nil {
				if bn.Kind != yaml.ScalarNode || bn.ShortTag() != "!!bool" {
					p.errorf(bn, k+".mtls", "expected true or false, got %s", yamlstrict.Describe(bn))
				} else {
					c.Connection.MTLS = bn.Value == "true"
				}
			}
			c.Connection.PeerURISAN = p.optStr(cm.get("peerURISAN"), k+".peerURISAN")
			if c.Connection.PeerURISAN != "" && !c.Connection.MTLS {
				p.errorf(cm.get("peerURISAN"), k+".peerURISAN", "a peer certificate needs mtls: true")
			}
		}
	}
	if en := m.get("expect"); en != nil && !yamlstrict.IsNull(en) {
		c.Expect = p.expect(en, key+".expect")
	}
	return c
}

func (p *parser) duration(n *yaml.Node, key string) time.Duration {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && n.Value == "0" {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, key, "expected a duration like 200ms or 1.5s, got %s", yamlstrict.Describe(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, key, "%q is not a duration (like 200ms or 1.5s)", n.Value)
		return 0
	}
	if d < 0 {
		p.errorf(n, key, "%q is negative", n.Value)
		return 0
	}
	return d
}

func (p *parser) expect(n *yaml.Node, key string) Expect {
	var e Expect
	m := p.mapping(n, key, "upstreamRequest", "response", "metrics")
	if m == nil {
		return e
	}
	if un := m.get("upstreamRequest"); un != nil {
		k := key + ".upstreamRequest"
		if yamlstrict.IsNull(un) {
			e.NoUpstream = true
		} else if um := p.mapping(un, k, "headers", "body", "cluster", "authority", "method", "path"); um != nil {
			e.UpstreamRequest = &ExpectUpstream{
				Cluster:   p.optStr(um.get("cluster"), k+".cluster"),
				Authority: p.optStr(um.get("authority"), k+".authority"),
				Method:    p.optStr(um.get("method"), k+".method"),
				Path:      p.optStr(um.get("path"), k+".path"),
				Headers:   p.expectHeaders(um.get("headers"), k+".headers"),
				Body:      p.expectBody(um.get("body"), k+".body"),
			}
		}
	}
	if rn := m.get("response"); rn != nil && !yamlstrict.IsNull(rn) {
		k := key + ".response"
		if rm := p.mapping(rn, k, "status", "headers", "body"); rm != nil {
			e.Response = &ExpectResponse{
				Status:  p.status(rm.get("status"), k+".status"),
				Headers: p.expectHeaders(rm.get("headers"), k+".headers"),
				Body:    p.expectBody(rm.get("body"), k+".body"),
			}
		}
	}
	if mn := m.get("metrics"); mn != nil && !yamlstrict.IsNull(mn) {
		e.Metrics = p.metrics(mn, key+".metrics")
	}
	return e
}

// metrics reads expected metrics: a number each, or null (no such metric).
func (p *parser) metrics(n *yaml.Node, key string) map[string]Metric {
	es, ok := p.entries(n, key, "metric names to values")
	if !ok {
		return nil
	}
	out := map[string]Metric{}
	for _, en := range es {
		vn := en.Value
		if yamlstrict.IsNull(vn) {
			out[en.Key] = Metric{Absent: true}
			continue
		}
		if vn.Kind != yaml.ScalarNode || (vn.ShortTag() != "!!int" && vn.ShortTag() != "!!float") {
			p.errorf(vn, en.Path, "expected a number (or null: no such metric), got %s", yamlstrict.Describe(vn))
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(vn.Value, "_", ""), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			p.errorf(vn, en.Path, "%s is not a finite number", vn.Value)
			continue
		}
		out[en.Key] = Metric{Value: v}
	}
	return out
}

// expectHeaders reads expected headers: names lowercased, each value a Value (null: absent).
func (p *parser) expectHeaders(n *yaml.Node, key string) map[string]Value {
	if n == nil || yamlstrict.IsNull(n) {
		return nil
	}
	out := map[string]Value{}
	p.eachHeader(n, key, func(name string, e yamlstrict.Entry) {
		if yamlstrict.IsNull(e.Value) {
			out[name] = Absent()
		} else if v, ok := p.value(e.Value, e.Path, "a header value"); ok {
			out[name] = v
		}
	})
	return out
}

// expectBody reads an expected body: absent is not checked; null is refused (a body is never
// absent: "" is the empty body).
func (p *parser) expectBody(n *yaml.Node, key string) *Value {
	if n == nil {
		return nil
	}
	if yamlstrict.IsNull(n) {
		p.errorf(n, key, `a body cannot be absent: write "" for an empty body, or leave the key out`)
		return nil
	}
	v, ok := p.value(n, key, "a body")
	if !ok {
		return nil
	}
	return &v
}

// value reads a Value: a string (exact), {regex: RE} or {contains: TEXT}.
func (p *parser) value(n *yaml.Node, key, what string) (Value, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := p.str(n, key)
		return Is(s), ok
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "expected %s: a string, {regex: RE} or {contains: TEXT}; got %s", what, yamlstrict.Describe(n))
		return Value{}, false
	}
	m := p.mapping(n, key, "regex", "contains")
	if m == nil {
		return Value{}, false
	}
	rn, cn := m.get("regex"), m.get("contains")
	switch {
	case rn != nil && cn != nil:
		p.errorf(n, key, "expected one of regex and contains, got both")
	case rn != nil:
		s, ok := p.str(rn, key+".regex")
		if !ok {
			return Value{}, false
		}
		re, err := regexp.Compile(s)
		if err != nil {
			p.errorf(rn, key+".regex", "%s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			return Value{}, false
		}
		return Value{Regex: re}, true
	case cn != nil:
		s, ok := p.str(cn, key+".contains")
		return Contain(s), ok
	default:
		p.errorf(n, key, "expected one of regex and contains, got neither")
	}
	return Value{}, false
}
