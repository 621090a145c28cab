package yamlstrict

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestDocumentsSyntaxLines(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		problem    string
	}{
		// The parser's problems: yaml.v3 names a line before the problem.
		{"key indented less, first block", "a: 1\nb:\n  c: 1\n d: 2\n", 4, "did not find expected key"},
		{"key indented less, nested block", "a: 1\nb: 2\nc:\n  d:\n    e: 1\n   f: 2\n", 6, "did not find expected key"},
		{"key after a list item", "a: 1\nb: 2\nc:\n  - x\n  y: 1\n", 5, "did not find expected '-' indicator"},
		{"second document", "a: 1\n---\nc: 1\nd:\n  e: 1\n f: 2\n", 6, "did not find expected key"},
		{"JSON missing comma", "{\n \"a\": 1,\n \"b\": 2\n \"c\": 3\n}\n", 4, "did not find expected ',' or '}'"},
		{"unclosed flow list", "a: 1\nb: [1,\nc: 2\n", 3, "did not find expected ',' or ']'"},
		{"first line, no line named", `{"a": 1`, 1, "did not find expected ',' or '}'"},
		{"no trailing newline", "a: 1\nb:\n  c: 1\n d: 2", 4, "did not find expected key"},
		// The scanner's problems: yaml.v3 names the line.
		{"tab", "a:\n\tb: 1\n", 2, "found character that cannot start any token"},
		{"mapping in a scalar", "a: 1\nb: c: d\n", 2, "mapping values are not allowed in this context"},
		{"unclosed quote (where it opens)", "a: 1\nb: \"x\nc: 2\n", 2, "found unexpected end of stream"},
		// No line.
		{"unknown anchor", "a: *x\n", 0, "unknown anchor 'x' referenced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Documents([]byte(tt.data))
			var se *SyntaxError
			require.True(t, errors.As(err, &se), "%v", err)
			require.Equal(t, SyntaxError{Line: tt.line, Problem: tt.problem}, *se)
			require.Equal(t, "invalid YAML: "+tt.problem, se.Error())
		})
	}
}

func TestDocuments(t *testing.T) {
	roots, err := Documents([]byte("# only a comment\n---\na: 1\n---\n---\n[1]\n"))
	require.NoError(t, err)
	require.Len(t, roots, 2, "empty documents are left out")
	require.Equal(t, 3, roots[0].Line)
	require.Equal(t, yaml.SequenceNode, roots[1].Kind)

	roots, err = Documents([]byte("a: 1\n---\nb: [\n"))
	require.Len(t, roots, 1, "the documents before a syntax error")
	require.Error(t, err)
}

// JSON is YAML but for the escape \/ (an escaped /), which Documents reads as JSON does.
func TestDocumentsJSON(t *testing.T) {
	roots, err := Documents([]byte(`{"a\/b": "c\/d\\/e", "f": "\\"}`))
	require.NoError(t, err)
	w := New(0)
	m, ok := w.Mapping(roots[0], "", "a/b", "f")
	require.True(t, ok)
	require.Equal(t, `c/d\/e`, m["a/b"].Value)
	require.Equal(t, `\`, m["f"].Value)
	require.Empty(t, w.Errors())

	_, err = Documents([]byte("a: \"\\/\"\nb: [\n"))
	require.EqualError(t, err, "invalid YAML: found unknown escape character", "YAML that is not JSON is not touched")
}

type spec struct {
	Name    string            `json:"name"`
	Port    uint32            `json:"port,omitempty"`
	Weight  float64           `json:"weight"`
	On      bool              `json:"on"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels"`
	Nested  *spec             `json:"nested"`
	Config  json.RawMessage   `json:"config"`
	Timeout time.Duration     `json:"timeout"`
	Since   time.Time         `json:"since"`
}

func decode(t *testing.T, data string, hooks ...func(*Walker)) (spec, *Walker) {
	t.Helper()
	roots, err := Documents([]byte(data))
	require.NoError(t, err)
	w := New(0)
	for _, h := range hooks {
		h(w)
	}
	var s spec
	w.Decode(roots[0], "", &s)
	return s, w
}

func messages(w *Walker) []string {
	var out []string
	for _, e := range w.Errors() {
		out = append(out, e.Error())
	}
	return out
}

func TestDecode(t *testing.T) {
	s, w := decode(t, `name: a
port: 8080
weight: 1.5
on: true
tags: [x, y]
labels: {a: b, "c d": e}
nested: {name: n}
config: {z: 1, a: [1, 2.5, "s", null, true]}
since: 2026-01-02T03:04:05Z
`)
	require.Empty(t, messages(w))
	require.Equal(t, "a", s.Name)
	require.Equal(t, uint32(8080), s.Port)
	require.Equal(t, []string{"x", "y"}, s.Tags)
	require.Equal(t, map[string]string{"a": "b", "c d": "e"}, s.Labels)
	require.Equal(t, "n", s.Nested.Name)
	require.Equal(t, `{"z":1,"a":[1,2.5,"s",null,true]}`, string(s.Config), "key order kept")
	require.Equal(t, 2026, s.Since.Year())
	require.Equal(t, map[string]int{
		"": 1, "name": 1, "port": 2, "weight": 3, "on": 4, "tags": 5, "tags[0]": 5, "tags[1]": 5,
		"labels": 6, "labels.a": 6, `labels["c d"]`: 6, "nested": 7, "nested.name": 7, "config": 8, "since": 9,
	}, w.Lines())
}

func TestDecodeProblems(t *testing.T) {
	_, w := decode(t, `name: 5
port: -1
weight: .nan
on: yes
tags: x
labels: {a: b, a: c, [k]: v}
nested: {nmae: n, name: m, name: o}
naem: x
timeout: 5
config: {a: .inf}
since: yesterday
`, func(w *Walker) {
		w.Hook(reflect.TypeFor[time.Duration](), func(n *yaml.Node) (any, error) {
			if n.ShortTag() != "!!str" {
				return nil, errors.New("expected a duration such as \"1s\", got " + Describe(n))
			}
			return time.ParseDuration(n.Value)
		})
	})
	require.Equal(t, []string{
		`name: expected a string, got 5 (quote it: "5")`,
		`port: must not be negative, got -1`,
		`weight: expected a number, got .nan`,
		`on: expected true or false, got "yes"`,
		`tags: expected a list, got "x"`,
		`labels.a: duplicate key`,
		`labels: unsupported key a list`,
		`nested.nmae: unknown field (did you mean "name"?)`,
		`nested.name: duplicate field`,
		`naem: unknown field (did you mean "name"?)`,
		`timeout: expected a duration such as "1s", got 5`,
		`config: line 10: .inf has no JSON representation`,
		`since: expected an RFC 3339 time, got "yesterday"`,
	}, messages(w))
	require.True(t, w.Suggested("nested.name"), "nmae came before name")
	require.False(t, w.Suggested("name"), "name was written before naem")
	require.Equal(t, 7, w.Errors()[8].Line, "a problem names the line of its key")
}

// A few aliases can stand for billions of nodes ("billion laughs"): the walk stops at the
// budget, once, with one problem.
func TestAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n")
		prev = n
	}
	b.WriteString("tags: *i\n")
	roots, err := Documents([]byte(b.String()))
	require.NoError(t, err)
	w := New(1000)
	m, ok := w.Mapping(roots[0], "", "a", "b", "c", "d", "e", "f", "g", "h", "i", "tags")
	require.True(t, ok)
	_, ok = w.JSON(m["tags"], "tags")
	require.False(t, ok)
	require.Equal(t, []string{"tags: the document expands to more than 1000 YAML nodes (aliases included)"}, messages(w))

	// Decode stops too, and says it once.
	w = New(1000)
	var v [][][][][][][][][]string
	w.Decode(m["tags"], "tags", &v)
	require.Len(t, w.Errors(), 1)
	require.Contains(t, w.Errors()[0].Error(), "the document expands to more than 1000 YAML nodes (aliases included)")
}

func TestMappingAndEntries(t *testing.T) {
	roots, err := Documents([]byte("filters: 1\nfilter: 2\ncases: [a]\nzzz: 3\n"))
	require.NoError(t, err)
	w := New(0)
	m, ok := w.Mapping(roots[0], "", "filters", "cases")
	require.True(t, ok)
	require.Len(t, m, 2)
	require.Equal(t, []string{
		`filter: unknown field (did you mean "filters"?)`,
		`zzz: unknown field (known: filters, cases)`,
	}, messages(w))
	require.Equal(t, 2, w.Errors()[0].Line)

	_, ok = w.Entries(m["cases"], "cases")
	require.False(t, ok)
	_, ok = w.Sequence(m["filters"], "filters")
	require.False(t, ok)
	require.Equal(t, []string{"cases: expected a mapping, got a list", `filters: expected a list, got 1`}, messages(w)[2:])
}

func TestJoinKey(t *testing.T) {
	require.Equal(t, "a", JoinKey("", "a"))
	require.Equal(t, "a.b-c_1", JoinKey("a", "b-c_1"))
	require.Equal(t, `a["x.y"]`, JoinKey("a", "x.y"))
	require.Equal(t, `a[""]`, JoinKey("a", ""))
	require.Equal(t, "a[3]", Index("a", 3))
}

// FuzzDocuments: any input parses or fails with a *SyntaxError whose line is in the input.
func FuzzDocuments(f *testing.F) {
	f.Add([]byte("a: 1\nb:\n  c: 1\n d: 2\n"))
	f.Add([]byte("{\n \"a\": 1,\n \"b\": 2\n \"c\": 3\n}\n"))
	f.Add([]byte("a: 1\n---\nc: 1\nd:\n  e: 1\n f: 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Documents(data)
		if err == nil {
			return
		}
		var se *SyntaxError
		require.True(t, errors.As(err, &se), "%v", err)
		// YAML breaks lines at \n, \r\n and a lone \r.
		lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") + strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r") + 1
		require.LessOrEqual(t, se.Line, lines)
		require.GreaterOrEqual(t, se.Line, 0)
	})
}
