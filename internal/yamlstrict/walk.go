package yamlstrict

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem at a field path, and the line it is written on (0: unknown).
type Error struct {
	Line int
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// MaxNodes is the most YAML nodes (aliases expanded) a Walker visits unless told otherwise.
const MaxNodes = 100_000

// Hook decodes a value of one Go type from its node; its error is the problem as the user
// reads it (`expected a duration such as "200ms", got 5`).
type Hook func(n *yaml.Node) (any, error)

// Walker walks the nodes of one document, collecting every problem with its field path and
// line, and the line of every path it visits. A Walker is not safe for concurrent use.
type Walker struct {
	errs      []*Error
	lines     map[string]int
	suggested map[string]bool
	budget    int
	max       int
	hooks     map[reflect.Type]Hook
}

// New returns a Walker that visits at most maxNodes nodes (MaxNodes when 0 or less), so that
// aliases cannot blow a small document up exponentially ("billion laughs").
func New(maxNodes int) *Walker {
	if maxNodes <= 0 {
		maxNodes = MaxNodes
	}
	return &Walker{lines: map[string]int{}, suggested: map[string]bool{}, budget: maxNodes, max: maxNodes}
}

// Hook makes Decode decode values of type t with h.
func (w *Walker) Hook(t reflect.Type, h Hook) {
	if w.hooks == nil {
		w.hooks = map[reflect.Type]Hook{}
	}
	w.hooks[t] = h
}

// Errors returns the problems found so far, in the order found.
func (w *Walker) Errors() []*Error { return w.errs }

// Lines maps each visited path to its line: a field's key line, an element's own line. The
// root is "".
func (w *Walker) Lines() map[string]int { return w.lines }

// Suggested reports whether an unknown field was probably meant to be path (a "required"
// problem there is noise).
func (w *Walker) Suggested(path string) bool { return w.suggested[path] }

// Errorf records a problem at path. Its line is the line of path (or of its closest visited
// parent), or n's when the path was not visited.
func (w *Walker) Errorf(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if l, ok := w.lines[path]; ok {
		line = l
	} else if n != nil {
		line = n.Line
	}
	w.errs = append(w.errs, &Error{Line: line, Path: path, Err: fmt.Errorf(format, args...)})
}

// visit counts n against the budget and records its line; false when the budget is spent
// (the problem is reported once).
func (w *Walker) visit(n *yaml.Node, path string) bool {
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.Errorf(n, path, "the document expands to more than %d YAML nodes (aliases included)", w.max)
		}
		return false
	}
	if _, ok := w.lines[path]; !ok {
		w.lines[path] = n.Line
	}
	return true
}

// Resolve follows aliases.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is null (`~`, `null` or nothing).
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Describe names a node for messages: `a mapping`, `a list`, `null`, `"text"`, `12`.
func Describe(n *yaml.Node) string {
	n = Resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "an unexpected node"
}

// JoinKey appends a field or map key to a path, quoting keys that are not plain identifiers:
// `spec.split.weights.v2`, `spec.requestHeaders.add["x y"]`.
func JoinKey(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if !plain {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends a list index to a path: `spec.rules[2]`.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Entry is one key of a mapping and its value (aliases resolved).
type Entry struct {
	Key   string
	Path  string
	Node  *yaml.Node // the key
	Value *yaml.Node
}

// Entries returns the entries of a mapping with free keys (a map), each key once; it reports
// a value that is not a mapping, keys that are not strings and duplicate keys.
func (w *Walker) Entries(n *yaml.Node, path string) ([]Entry, bool) {
	n = Resolve(n)
	if !w.visit(n, path) {
		return nil, false
	}
	var out []Entry
	return out, w.entries(n, path, nil, func(e Entry) { out = append(out, e) })
}

// Mapping returns the values of a mapping whose keys are fields (a struct) by field name; it
// reports a value that is not a mapping, unknown fields (with a "did you mean") and
// duplicate fields.
func (w *Walker) Mapping(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, bool) {
	n = Resolve(n)
	if !w.visit(n, path) {
		return nil, false
	}
	m := map[string]*yaml.Node{}
	if !w.entries(n, path, known, func(e Entry) { m[e.Key] = e.Value }) {
		return nil, false
	}
	return m, true
}

// entries is Entries (known nil) or Mapping on a node already visited: it calls fn for each
// entry in order, so that problems are found in the order written; false when n is not a
// mapping.
func (w *Walker) entries(n *yaml.Node, path string, known []string, fn func(Entry)) bool {
	if n.Kind != yaml.MappingNode {
		w.Errorf(n, path, "expected a mapping, got %s", Describe(n))
		return false
	}
	what := "key"
	if known != nil {
		what = "field"
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			w.Errorf(k, path, "unsupported key %s", Describe(k))
			continue
		}
		p := JoinKey(path, k.Value)
		w.lines[p] = k.Line
		if seen[k.Value] {
			w.Errorf(k, p, "duplicate %s", what)
			continue
		}
		seen[k.Value] = true
		if known != nil && !slices.Contains(known, k.Value) {
			hint, meant := suggest(k.Value, known)
			w.Errorf(k, p, "unknown field%s", hint)
			if meant != "" && !seen[meant] {
				w.suggested[JoinKey(path, meant)] = true
			}
			continue
		}
		fn(Entry{Key: k.Value, Path: p, Node: k, Value: v})
	}
	return true
}

// Sequence returns the elements of a list (aliases resolved), or reports a value that is not
// a list.
func (w *Walker) Sequence(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = Resolve(n)
	if !w.visit(n, path) {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		w.Errorf(n, path, "expected a list, got %s", Describe(n))
		return nil, false
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = Resolve(e)
		if _, ok := w.lines[Index(path, i)]; !ok {
			w.lines[Index(path, i)] = out[i].Line
		}
	}
	return out, true
}

// String returns a string value, or reports anything else (`expected a string, got 5 (quote
// it: "5")`).
func (w *Walker) String(n *yaml.Node, path string) (string, bool) {
	n = Resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return n.Value, true
	}
	if n.Kind == yaml.ScalarNode && !IsNull(n) {
		w.Errorf(n, path, "expected a string, got %s (quote it: %q)", n.Value, n.Value)
	} else {
		w.Errorf(n, path, "expected a string, got %s", Describe(n))
	}
	return "", false
}

// suggest proposes the known field closest to an unknown one, or lists the known fields.
func suggest(name string, known []string) (hint, meant string) {
	best, bestD := "", 3
	for _, f := range known {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(f)); dist < bestD {
			best, bestD = f, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best), best
	}
	return " (known: " + strings.Join(known, ", ") + ")", ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
