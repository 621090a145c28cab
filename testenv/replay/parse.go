package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Parse parses a replay file's content; name is used in messages. Filter paths stay as
// written (ReadFile resolves them). Every problem is reported, joined, each as an *Error
// naming name:line and the key.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{file: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil, &Error{File: name, Err: errors.New("empty file (want the keys filters and cases)")}
		}
		return nil, p.syntax(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: name, Line: extra.Line, Err: errors.New("a second YAML document: a replay file holds one")}
	} else if err.Error() != "EOF" {
		return nil, p.syntax(err)
	}
	f := &File{Path: name}
	root := resolve(&doc)
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, &Error{File: name, Err: errors.New("empty file (want the keys filters and cases)")}
	}
	m := p.mapping(root, "", "filters", "clusters", "cases")
	if m == nil {
		return nil, errors.Join(p.errs...)
	}
	if n := m.required("filters"); n != nil {
		for i, fn := range p.sequence(n, "filters") {
			f.Filters = append(f.Filters, p.filter(fn, fmt.Sprintf("filters[%d]", i)))
		}
		if len(f.Filters) == 0 && n.Kind == yaml.SequenceNode {
			p.errorf(n, "filters", "at least one filter is required")
		}
	}
	if n := m.get("clusters"); n != nil && !isNull(n) {
		for i, cn := range p.sequence(n, "clusters") {
			key := fmt.Sprintf("clusters[%d]", i)
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
		for i, cn := range p.sequence(n, "cases") {
			key := fmt.Sprintf("cases[%d]", i)
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
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return f, nil
}

type parser struct {
	file string
	errs []error
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the YAML parser's (not scanner's) messages: yaml.v3 reports their line
// 0-based (the scanner's 1-based), so syntax adds one.
var parserProblems = map[string]bool{
	"did not find expected ',' or '}'":       true,
	"did not find expected ',' or ']'":       true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected node content":     true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntax turns a YAML syntax error into an *Error with the line.
func (p *parser) syntax(err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line++
		}
		return &Error{File: p.file, Line: line, Err: errors.New(m[2])}
	}
	return &Error{File: p.file, Err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
}

func (p *parser) errorf(n *yaml.Node, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Key: key, Err: fmt.Errorf(format, args...)})
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
			}
			n = n.Content[0]
		} else {
			n = n.Alias
		}
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// what names a node's kind for messages.
func what(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	}
	return fmt.Sprintf("%q", n.Value)
}

// fields is a YAML mapping's values by key, with the key nodes for positions.
type fields struct {
	node   *yaml.Node
	key    string
	p      *parser
	values map[string]*yaml.Node
}

// mapping checks that n is a mapping holding only known keys, each once.
func (p *parser) mapping(n *yaml.Node, key string, known ...string) *fields {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		k := key
		if k == "" {
			k = "(top level)"
		}
		p.errorf(n, k, "want a mapping, got %s", what(n))
		return nil
	}
	f := &fields{node: n, key: key, p: p, values: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		name := kn.Value
		full := join(key, name)
		switch {
		case kn.Kind != yaml.ScalarNode:
			p.errorf(kn, key, "a key must be a string, got %s", what(kn))
		case !contains(known, name):
			p.errorf(kn, full, "unknown key (known: %s)", strings.Join(known, ", "))
		case f.values[name] != nil:
			p.errorf(kn, full, "repeated key")
		default:
			f.values[name] = resolve(vn)
			if f.values[name].Line == 0 {
				f.values[name].Line = kn.Line
			}
		}
	}
	return f
}

func (f *fields) get(name string) *yaml.Node { return f.values[name] }

// required returns the key's value, reporting it when it is absent or null.
func (f *fields) required(name string) *yaml.Node {
	n := f.values[name]
	if n == nil {
		f.p.errorf(f.node, join(f.key, name), "required")
		return nil
	}
	if isNull(n) {
		f.p.errorf(n, join(f.key, name), "required, got null")
		return nil
	}
	return n
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (p *parser) sequence(n *yaml.Node, key string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, key, "want a sequence, got %s", what(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = resolve(e)
	}
	return out
}

// str reads a scalar as text; ok is false (and the problem reported) for anything else.
func (p *parser) str(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, key, "want a string, got %s", what(n))
		return "", false
	}
	return n.Value, true
}

// optStr is str for an optional key: absent or null is "".
func (p *parser) optStr(n *yaml.Node, key string) string {
	if n == nil || isNull(n) {
		return ""
	}
	s, _ := p.str(n, key)
	return s
}

func (p *parser) status(n *yaml.Node, key string) int {
	if n == nil || isNull(n) {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n, key, "want an HTTP status code, got %s", what(n))
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < 100 || v > 599 {
		p.errorf(n, key, "%s is not an HTTP status code (100-599)", n.Value)
		return 0
	}
	return v
}

// headers reads a mapping of header names to values; names are lowercased.
func (p *parser) headers(n *yaml.Node, key string) Headers {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "want a mapping of header names to values, got %s", what(n))
		return nil
	}
	var h Headers
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		name := strings.ToLower(kn.Value)
		k := key + "." + kn.Value
		if kn.Kind != yaml.ScalarNode || name == "" {
			p.errorf(kn, key, "want a header name, got %s", what(kn))
			continue
		}
		if seen[name] {
			p.errorf(kn, k, "repeated header")
			continue
		}
		seen[name] = true
		if v, ok := p.str(vn, k); ok {
			h = append(h, [2]string{name, v})
		}
	}
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
	if cn := m.get("config"); cn != nil && !isNull(cn) {
		if cn.Kind == yaml.ScalarNode && cn.Tag == "!!str" {
			fl.Config = []byte(cn.Value)
		} else {
			var buf bytes.Buffer
			if err := toJSON(&buf, cn); err != nil {
				p.errorf(cn, key+".config", "%v", err)
			} else {
				fl.Config = buf.Bytes()
			}
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
	if rn := m.get("request"); rn != nil && !isNull(rn) {
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
	if un := m.get("upstream"); un != nil && !isNull(un) {
		k := key + ".upstream"
		if um := p.mapping(un, k, "status", "headers", "body"); um != nil {
			if s := p.status(um.get("status"), k+".status"); s != 0 {
				c.Upstream.Status = s
			}
			c.Upstream.Headers = p.headers(um.get("headers"), k+".headers")
			c.Upstream.Body = p.optStr(um.get("body"), k+".body")
		}
	}
	if an := m.get("advance"); an != nil && !isNull(an) {
		c.Advance = p.duration(an, key+".advance")
	}
	if cn := m.get("connection"); cn != nil && !isNull(cn) {
		k := key + ".connection"
		if cm := p.mapping(cn, k, "mtls", "peerURISAN"); cm != nil {
			c.Connection = &Connection{}
			if bn := cm.get("mtls"); bn != nil {
				if bn.Kind != yaml.ScalarNode || bn.ShortTag() != "!!bool" {
					p.errorf(bn, k+".mtls", "want true or false")
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
	if en := m.get("expect"); en != nil && !isNull(en) {
		c.Expect = p.expect(en, key+".expect")
	}
	return c
}

func (p *parser) duration(n *yaml.Node, key string) time.Duration {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.errorf(n, key, "want a duration like 200ms or 1.5s, got %s", what(n))
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
		if isNull(un) {
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
	if rn := m.get("response"); rn != nil && !isNull(rn) {
		k := key + ".response"
		if rm := p.mapping(rn, k, "status", "headers", "body"); rm != nil {
			e.Response = &ExpectResponse{
				Status:  p.status(rm.get("status"), k+".status"),
				Headers: p.expectHeaders(rm.get("headers"), k+".headers"),
				Body:    p.expectBody(rm.get("body"), k+".body"),
			}
		}
	}
	if mn := m.get("metrics"); mn != nil && !isNull(mn) {
		k := key + ".metrics"
		if mn.Kind != yaml.MappingNode {
			p.errorf(mn, k, "want a mapping of metric names to values, got %s", what(mn))
		} else {
			e.Metrics = map[string]Metric{}
			for i := 0; i+1 < len(mn.Content); i += 2 {
				kn, vn := resolve(mn.Content[i]), resolve(mn.Content[i+1])
				mk := k + "." + kn.Value
				if _, dup := e.Metrics[kn.Value]; dup {
					p.errorf(kn, mk, "repeated metric")
					continue
				}
				if isNull(vn) {
					e.Metrics[kn.Value] = Metric{Absent: true}
					continue
				}
				if vn.Kind != yaml.ScalarNode || (vn.Tag != "!!int" && vn.Tag != "!!float") {
					p.errorf(vn, mk, "want a number (or null: no such metric), got %s", what(vn))
					continue
				}
				v, err := strconv.ParseFloat(strings.ReplaceAll(vn.Value, "_", ""), 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					p.errorf(vn, mk, "%s is not a finite number", vn.Value)
					continue
				}
				e.Metrics[kn.Value] = Metric{Value: v}
			}
		}
	}
	return e
}

// expectHeaders reads expected headers: names lowercased, each value a Value (null: absent).
func (p *parser) expectHeaders(n *yaml.Node, key string) map[string]Value {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "want a mapping of header names to values, got %s", what(n))
		return nil
	}
	out := map[string]Value{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		name := strings.ToLower(kn.Value)
		k := key + "." + kn.Value
		if kn.Kind != yaml.ScalarNode || name == "" {
			p.errorf(kn, key, "want a header name, got %s", what(kn))
			continue
		}
		if _, dup := out[name]; dup {
			p.errorf(kn, k, "repeated header")
			continue
		}
		if isNull(vn) {
			out[name] = Absent()
			continue
		}
		if v, ok := p.value(vn, k, "a header value"); ok {
			out[name] = v
		}
	}
	return out
}

// expectBody reads an expected body: absent is not checked; null is refused (a body is never
// absent: "" is the empty body).
func (p *parser) expectBody(n *yaml.Node, key string) *Value {
	if n == nil {
		return nil
	}
	if isNull(n) {
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
func (p *parser) value(n *yaml.Node, key, what1 string) (Value, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := p.str(n, key)
		return Is(s), ok
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "want %s: a string, {regex: RE} or {contains: TEXT}; got %s", what1, what(n))
		return Value{}, false
	}
	m := p.mapping(n, key, "regex", "contains")
	if m == nil {
		return Value{}, false
	}
	rn, cn := m.get("regex"), m.get("contains")
	switch {
	case rn != nil && cn != nil:
		p.errorf(n, key, "want one of regex and contains, got both")
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
		p.errorf(n, key, "want one of regex and contains, got neither")
	}
	return Value{}, false
}

// toJSON writes a YAML value as JSON, keeping mapping order.
func toJSON(buf *bytes.Buffer, n *yaml.Node) error {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			kn := resolve(n.Content[i])
			if kn.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a key must be a string, got %s", kn.Line, what(kn))
			}
			k, _ := json.Marshal(kn.Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := toJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := toJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %s has no JSON form", n.Line, what(n))
		}
		buf.Write(b)
	}
	return nil
}
