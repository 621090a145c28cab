package match

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
)

// Spec is a match as configured: every condition given must hold; an empty Spec matches
// every request.
type Spec struct {
	Path    *PathSpec    `json:"path,omitempty"`
	Method  string       `json:"method,omitempty"`
	Headers []HeaderSpec `json:"headers,omitempty"`
	Query   []QuerySpec  `json:"query,omitempty"`
}

// PathSpec matches the path without the query string; exactly one field is set.
type PathSpec struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Regex  string `json:"regex,omitempty"`
}

// HeaderSpec matches one header; exactly one of Exact, Prefix, Regex, Present, Absent is set.
type HeaderSpec struct {
	Name    string  `json:"name"`
	Exact   *string `json:"exact,omitempty"`
	Prefix  *string `json:"prefix,omitempty"`
	Regex   *string `json:"regex,omitempty"`
	Present bool    `json:"present,omitempty"`
	Absent  bool    `json:"absent,omitempty"`
}

// QuerySpec matches one query parameter; exactly one of Exact, Prefix, Regex, Present is set.
type QuerySpec struct {
	Name    string  `json:"name"`
	Exact   *string `json:"exact,omitempty"`
	Prefix  *string `json:"prefix,omitempty"`
	Regex   *string `json:"regex,omitempty"`
	Present bool    `json:"present,omitempty"`
}

// IsEmpty reports whether s matches every request.
func (s Spec) IsEmpty() bool {
	return s.Path == nil && s.Method == "" && len(s.Headers) == 0 && len(s.Query) == 0
}

// Parse reads a match from its JSON strictly: the one validator of the match schema, used by
// every filter and by the control plane's resources. Every problem carries its path inside the
// match, joined with errors.Join.
func Parse(data []byte) (Spec, error) { return config.ParseOne(data, Decode) }

// Decode reads a match object strictly, recording every problem in the value's Errors.
func Decode(v config.Value) Spec {
	var s Spec
	o, ok := v.Object()
	if !ok {
		return s
	}
	if po, ok := o.Object("path"); ok {
		var p PathSpec
		n := 0
		if po.String("exact", &p.Exact) {
			n++
			if !strings.HasPrefix(p.Exact, "/") {
				po.ErrorfAt("exact", "must start with /, got %q", p.Exact)
			}
		}
		if po.String("prefix", &p.Prefix) {
			n++
			if !strings.HasPrefix(p.Prefix, "/") {
				po.ErrorfAt("prefix", "must start with /, got %q", p.Prefix)
			}
		}
		if rv, ok := po.Get("regex"); ok {
			if re, ok := rv.String(); ok {
				n++
				p.Regex = re
				if re == "" {
					rv.Errorf("must not be empty")
				} else {
					checkRegex(rv, re)
				}
			}
		}
		if n != 1 {
			po.Errorf("want exactly one of exact, prefix, regex")
		}
		po.Close()
		s.Path = &p
	}
	if mv, ok := o.Get("method"); ok {
		if m, ok := mv.String(); ok {
			if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t") {
				mv.Errorf("want an uppercase HTTP method such as GET, got %q", m)
			}
			s.Method = m
		}
	}
	if hs, ok := o.Array("headers"); ok {
		for _, hv := range hs {
			s.Headers = append(s.Headers, decodeHeader(hv))
		}
	}
	if qs, ok := o.Array("query"); ok {
		for _, qv := range qs {
			s.Query = append(s.Query, decodeQuery(qv))
		}
	}
	o.Close()
	return s
}

func decodeHeader(v config.Value) HeaderSpec {
	var h HeaderSpec
	o, ok := v.Object()
	if !ok {
		return h
	}
	if nv, ok := o.Get("name"); ok {
		if name, ok := nv.String(); ok {
			h.Name = name
			if err := CheckHeaderName(name); err != nil {
				nv.Errorf("%v", err)
			}
		}
	} else {
		o.Errorf("name: required")
	}
	n := 0
	h.Exact, n = optString(o, "exact", n)
	h.Prefix, n = optString(o, "prefix", n)
	h.Regex, n = optString(o, "regex", n)
	if h.Regex != nil {
		rv, _ := o.Get("regex")
		checkRegex(rv, *h.Regex)
	}
	h.Present, n = optTrue(o, "present", n)
	h.Absent, n = optTrue(o, "absent", n)
	if n != 1 {
		o.Errorf("want exactly one of exact, prefix, regex, present, absent")
	}
	o.Close()
	return h
}

func decodeQuery(v config.Value) QuerySpec {
	var q QuerySpec
	o, ok := v.Object()
	if !ok {
		return q
	}
	if nv, ok := o.Get("name"); ok {
		if name, ok := nv.String(); ok {
			q.Name = name
			if name == "" {
				nv.Errorf("must not be empty")
			}
		}
	} else {
		o.Errorf("name: required")
	}
	n := 0
	q.Exact, n = optString(o, "exact", n)
	q.Prefix, n = optString(o, "prefix", n)
	q.Regex, n = optString(o, "regex", n)
	if q.Regex != nil {
		rv, _ := o.Get("regex")
		checkRegex(rv, *q.Regex)
	}
	q.Present, n = optTrue(o, "present", n)
	if n != 1 {
		o.Errorf("want exactly one of exact, prefix, regex, present")
	}
	o.Close()
	return q
}

func optString(o config.Object, key string, n int) (*string, int) {
	var s string
	if o.String(key, &s) {
		return &s, n + 1
	}
	return nil, n
}

func optTrue(o config.Object, key string, n int) (bool, int) {
	v, ok := o.Get(key)
	if !ok {
		return false, n
	}
	b, ok := v.Bool()
	if !ok {
		return false, n
	}
	if !b {
		v.Errorf("want true or no key")
		return false, n
	}
	return true, n + 1
}

// checkRegex records the RE2 syntax problem of re at v's path ("missing closing )").
func checkRegex(v config.Value, re string) {
	if _, err := regexp.Compile(re); err != nil {
		v.Errorf("invalid regex %q: %s", re, RegexProblem(err))
	}
}

// RegexProblem returns the short description of a regexp compile error.
func RegexProblem(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Code.String()
	}
	return err.Error()
}

// CheckHeaderName reports a header name that Envoy would never show a filter (filters see
// lowercase names).
func CheckHeaderName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			return config.Errorf("header name %q must be lowercase", name)
		}
		if c <= ' ' || c == ':' && i > 0 || c >= 0x7f {
			return config.Errorf("invalid header name %q", name)
		}
	}
	return nil
}

// Matcher is a compiled Spec.
type Matcher struct {
	method  string
	path    strMatch
	hasPath bool
	headers []headerMatch
	query   []queryMatch
}

type strMatch struct {
	exact, prefix *string
	re            *regexp.Regexp
}

func (m strMatch) match(s string) bool {
	switch {
	case m.exact != nil:
		return s == *m.exact
	case m.prefix != nil:
		return strings.HasPrefix(s, *m.prefix)
	case m.re != nil:
		return m.re.MatchString(s)
	}
	return true
}

type headerMatch struct {
	name            string
	present, absent bool
	value           strMatch
}

type queryMatch struct {
	name    string
	present bool
	value   strMatch
}

func compileStr(exact, prefix, re *string, path string) (strMatch, error) {
	m := strMatch{exact: exact, prefix: prefix}
	if re != nil {
		r, err := regexp.Compile(*re)
		if err != nil {
			return m, config.Errorf("%s.regex: %s", path, RegexProblem(err))
		}
		m.re = r
	}
	return m, nil
}

// Compile compiles s once; the error names the offending field (Decode reports the same
// problems with full paths).
func Compile(s Spec) (*Matcher, error) {
	m := &Matcher{method: s.Method}
	var errs []error
	if s.Path != nil {
		m.hasPath = true
		var e, p, r *string
		switch {
		case s.Path.Exact != "":
			e = &s.Path.Exact
		case s.Path.Prefix != "":
			p = &s.Path.Prefix
		case s.Path.Regex != "":
			r = &s.Path.Regex
		default:
			errs = append(errs, errors.New("path: want exactly one of exact, prefix, regex"))
		}
		sm, err := compileStr(e, p, r, "path")
		if err != nil {
			errs = append(errs, err)
		}
		m.path = sm
	}
	for i, h := range s.Headers {
		sm, err := compileStr(h.Exact, h.Prefix, h.Regex, config.Index("headers", i))
		if err != nil {
			errs = append(errs, err)
		}
		m.headers = append(m.headers, headerMatch{name: h.Name, present: h.Present, absent: h.Absent, value: sm})
	}
	for i, q := range s.Query {
		sm, err := compileStr(q.Exact, q.Prefix, q.Regex, config.Index("query", i))
		if err != nil {
			errs = append(errs, err)
		}
		m.query = append(m.query, queryMatch{name: q.Name, present: q.Present, value: sm})
	}
	return m, errors.Join(errs...)
}

// MustCompile is Compile for specs known to be valid (decoded without errors); it panics
// otherwise.
func MustCompile(s Spec) *Matcher {
	m, err := Compile(s)
	if err != nil {
		panic("match: " + err.Error())
	}
	return m
}

// PathPrefix returns the configured path prefix, "" when the match has none.
func (s Spec) PathPrefix() string {
	if s.Path == nil {
		return ""
	}
	return s.Path.Prefix
}

// Matches reports whether every condition holds for r. A nil Matcher matches everything.
func (m *Matcher) Matches(r *sdk.Request) bool {
	if m == nil {
		return true
	}
	if m.method != "" && r.Method != m.method {
		return false
	}
	if m.hasPath && !m.path.match(r.PathOnly()) {
		return false
	}
	for i := range m.headers {
		h := &m.headers[i]
		v, ok := r.Headers.Get(h.name)
		switch {
		case h.absent:
			if ok {
				return false
			}
		case !ok:
			return false
		case h.present:
		case !h.value.match(v):
			return false
		}
	}
	if len(m.query) > 0 {
		q := r.RawQuery()
		for i := range m.query {
			qm := &m.query[i]
			v, ok := queryParam(q, qm.name)
			if !ok || (!qm.present && !qm.value.match(v)) {
				return false
			}
		}
	}
	return true
}

// queryParam returns the first value of name in a raw query string.
func queryParam(q, name string) (string, bool) {
	for q != "" {
		var part string
		if i := strings.IndexByte(q, '&'); i >= 0 {
			part, q = q[:i], q[i+1:]
		} else {
			part, q = q, ""
		}
		k, v, _ := strings.Cut(part, "=")
		if strings.ContainsAny(k, "%+") {
			k = unescape(k)
		}
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			v = unescape(v)
		}
		return v, true
	}
	return "", false
}

// unescape decodes a query component ('+' is a space, %XX a byte); a malformed escape is kept
// as is. (net/url would add ~100 KB to every module.)
func unescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
