package crd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// StdinSource is the source name of documents read from standard input.
const StdinSource = "<stdin>"

// Document is one decoded YAML document and where it came from.
type Document struct {
	// Source is the file the document was read from (as given), or StdinSource.
	Source string `json:"source"`
	// Index is the 1-based position of the document in its source.
	Index int `json:"index"`
	// Line is the line the document starts on.
	Line int `json:"line,omitempty"`
	// Lines maps field paths (`spec.rules[0].match`) to the line they are written on, so that
	// later validation stages can point at the line too.
	Lines map[string]int `json:"lines,omitempty"`
	// Object is the decoded resource.
	Object Object `json:"-"`
}

// Where describes the document for error messages: `document 2 (TrafficRoute "reviews")`.
func (d *Document) Where() string {
	if d.Object == nil || d.Object.Meta().Name == "" {
		return fmt.Sprintf("document %d", d.Index)
	}
	return fmt.Sprintf("document %d (%s %q)", d.Index, d.Object.GetKind(), d.Object.Meta().Name)
}

// LineOf returns the line of the field path, or of its closest written parent, or 0.
func (d *Document) LineOf(path string) int {
	for p := path; ; {
		if l, ok := d.Lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if d.Lines != nil {
				if l, ok := d.Lines[""]; ok {
					return l
				}
			}
			return d.Line
		}
		p = p[:i]
	}
}

// Errorf returns a DocError for the field path of this document.
func (d *Document) Errorf(path, format string, args ...any) error {
	return d.Wrap(&FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

// Wrap attaches the document to an error; a *FieldError (or one it wraps) supplies the line.
func (d *Document) Wrap(err error) error {
	de := &DocError{Source: d.Source, Index: d.Index, Err: err, Line: d.Line}
	if d.Object != nil {
		de.Kind, de.Name = d.Object.GetKind(), d.Object.Meta().Name
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		de.Line = d.LineOf(fe.Path)
	}
	return de
}

// FieldError is a problem at a field path of a resource: `spec.split.weights.v3: ...`.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// DocError is a problem in one document of a source:
// `canary.yaml:14: document 2 (TrafficRoute "reviews"): spec.split.weights.v3: ...`.
type DocError struct {
	Source string
	Index  int
	Line   int
	Kind   Kind
	Name   string
	Err    error
}

func (e *DocError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Index > 0 {
		fmt.Fprintf(&b, "document %d", e.Index)
		if e.Name != "" {
			fmt.Fprintf(&b, " (%s %q)", e.Kind, e.Name)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *DocError) Unwrap() error { return e.Err }

// ReadPaths decodes every document of the given paths: files, folders (their *.yaml, *.yml
// and *.json files, sorted, not recursive) and "-" for stdin. Each document gets structure
// validation (see Validate). All problems of all sources are returned at once, joined; the
// documents are returned only when there is none.
func ReadPaths(stdin io.Reader, paths ...string) ([]Document, error) {
	var (
		docs []Document
		errs []error
	)
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", StdinSource, err))
				continue
			}
			d, err := Decode(StdinSource, data)
			docs, errs = append(docs, d...), append(errs, err)
			continue
		}
		files, err := expand(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			d, err := Decode(f, data)
			docs, errs = append(docs, d...), append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := checkDuplicates(docs); err != nil {
		return nil, err
	}
	return docs, nil
}

func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			files = append(files, filepath.Join(p, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files in the folder", p)
	}
	return files, nil
}

// checkDuplicates refuses two documents that define the same resource.
func checkDuplicates(docs []Document) error {
	seen := map[Key]*Document{}
	var errs []error
	for i := range docs {
		d := &docs[i]
		k := KeyOf(d.Object)
		if first, ok := seen[k]; ok {
			errs = append(errs, d.Errorf("metadata.name", "%s %q is also defined in %s %s",
				k.Kind, k.Name, first.Source, first.Where()))
			continue
		}
		seen[k] = d
	}
	return errors.Join(errs...)
}

// Decode strictly decodes every document of one YAML (or JSON) source and validates each
// one's structure. Empty documents are skipped. Every problem is reported, joined, each a
// *DocError naming the source, the document and the field path; documents are returned only
// when there is no problem.
func Decode(source string, data []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var (
		docs []Document
		errs []error
	)
	for index := 1; ; index++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			de := &DocError{Source: source, Index: index, Err: err}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				de.Line, _ = strconv.Atoi(m[1])
				de.Err = errors.New("invalid YAML: " + m[2])
			}
			errs = append(errs, de)
			break // the YAML stream cannot be resynchronised after a syntax error
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 || isNull(n.Content[0]) {
			index-- // an empty document (e.g. a trailing ---) is not counted
			continue
		}
		doc, derrs := decodeDocument(source, index, n.Content[0])
		if len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		docs = append(docs, doc)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return docs, nil
}

// serverSet are the metadata fields the server sets. They are ignored on input whatever
// their form, so `get -o yaml` output (or Kubernetes', where resourceVersion is a string)
// applies again as is.
var serverSet = []string{"generation", "resourceVersion", "creationTimestamp"}

// dropServerSet removes the server-set fields from a metadata mapping.
func dropServerSet(meta *yaml.Node) {
	kept := meta.Content[:0]
	for i := 0; i+1 < len(meta.Content); i += 2 {
		if !slices.Contains(serverSet, meta.Content[i].Value) {
			kept = append(kept, meta.Content[i], meta.Content[i+1])
		}
	}
	meta.Content = kept
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func decodeDocument(source string, index int, root *yaml.Node) (Document, []error) {
	doc := Document{Source: source, Index: index, Line: root.Line, Lines: map[string]int{"": root.Line}}
	wrapAll := func(fes []*FieldError) []error {
		errs := make([]error, len(fes))
		for i, fe := range fes {
			errs[i] = doc.Wrap(fe)
		}
		slices.SortStableFunc(errs, func(a, b error) int {
			return a.(*DocError).Line - b.(*DocError).Line //nolint:errorlint // built just above
		})
		return errs
	}
	if root.Kind != yaml.MappingNode {
		return doc, wrapAll([]*FieldError{{Err: fmt.Errorf("expected a resource (a mapping with apiVersion, kind, metadata, spec), got %s", describe(root))}})
	}
	var tm struct{ apiVersion, kind, name string }
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		doc.Lines[k.Value] = k.Line
		switch k.Value {
		case "apiVersion":
			tm.apiVersion = v.Value
		case "kind":
			tm.kind = v.Value
		case "metadata":
			if v.Kind == yaml.MappingNode {
				dropServerSet(v)
				for j := 0; j+1 < len(v.Content); j += 2 {
					if v.Content[j].Value == "name" {
						tm.name = v.Content[j+1].Value
					}
				}
			}
		}
	}
	var fes []*FieldError
	if tm.apiVersion == "" {
		fes = append(fes, &FieldError{Path: "apiVersion", Err: fmt.Errorf("required (%s)", APIVersion)})
	} else if tm.apiVersion != APIVersion {
		fes = append(fes, &FieldError{Path: "apiVersion", Err: fmt.Errorf("%q is not %s", tm.apiVersion, APIVersion)})
	}
	obj, err := New(Kind(tm.kind))
	switch {
	case tm.kind == "":
		fes = append(fes, &FieldError{Path: "kind", Err: fmt.Errorf("required (one of %s)", kindList())})
	case err != nil:
		fes = append(fes, &FieldError{Path: "kind", Err: err})
	}
	if len(fes) > 0 {
		return doc, wrapAll(fes)
	}
	d := &decoder{lines: doc.Lines, suggested: map[string]bool{}, budget: maxNodes}
	d.value(root, reflect.ValueOf(obj).Elem(), "")
	doc.Object = obj
	if obj.Meta().Name == "" && tm.name != "" {
		obj.Meta().Name = tm.name // keep the name for messages even when metadata is malformed
	}
	// Server-set fields are ignored on input: `get -o yaml` output can be applied again.
	m := obj.Meta()
	m.Generation, m.ResourceVersion, m.CreationTimestamp = 0, 0, nil
	*obj.GetStatus() = Status{}
	// Structure problems are reported too, except on a field that failed to decode, its parts
	// and the fields holding it (a zero value would only produce follow-up noise).
	fes = d.errs
	for _, fe := range Validate(obj) {
		if d.suggested[fe.Path] {
			continue
		}
		if !slices.ContainsFunc(d.errs, func(de *FieldError) bool {
			return pathWithin(fe.Path, de.Path) || fe.Path != "spec" && fe.Path != "metadata" && pathWithin(de.Path, fe.Path)
		}) {
			fes = append(fes, fe)
		}
	}
	return doc, wrapAll(fes)
}

// pathWithin reports whether path is parent or one of its descendants.
func pathWithin(path, parent string) bool {
	if parent == "" || path == parent {
		return true
	}
	return strings.HasPrefix(path, parent) && (path[len(parent)] == '.' || path[len(parent)] == '[')
}

// decoder walks a yaml.Node tree into a Go value by its json tags, strictly, collecting every
// problem with its field path.
type decoder struct {
	lines map[string]int
	errs  []*FieldError
	// suggested holds the paths an unknown field was probably meant to be: a "required"
	// problem there is noise.
	suggested map[string]bool
	// budget bounds the nodes visited, so that YAML aliases cannot blow a small document up
	// exponentially ("billion laughs").
	budget int
}

// maxNodes is the most YAML nodes (aliases expanded) one document may hold.
const maxNodes = 100_000

var errTooLarge = fmt.Errorf("the document expands to more than %d YAML nodes (aliases included)", maxNodes)

func (d *decoder) fail(path string, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

var (
	durationType = reflect.TypeFor[Duration]()
	rawType      = reflect.TypeFor[json.RawMessage]()
	timeType     = reflect.TypeFor[time.Time]()
)

func describe(n *yaml.Node) string {
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

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail(path, "%v", errTooLarge)
		}
		return
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	switch v.Type() {
	case durationType:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.fail(path, "expected a duration such as \"200ms\", got %s", describe(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(path, "invalid duration %q (use a number and a unit: ms, s, m, h)", n.Value)
			return
		}
		v.Set(reflect.ValueOf(Duration{dur}))
		return
	case rawType:
		var b bytes.Buffer
		if err := nodeJSON(&b, n, &d.budget); err != nil {
			d.fail(path, "%v", err)
			return
		}
		v.SetBytes(b.Bytes())
		return
	case timeType:
		t, err := time.Parse(time.RFC3339, n.Value)
		if err != nil {
			d.fail(path, "expected an RFC 3339 time, got %s", describe(n))
			return
		}
		v.Set(reflect.ValueOf(t))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(path, "expected a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.fail(path, "keys must be strings, got %s", describe(k))
				continue
			}
			p := joinKey(path, k.Value)
			d.lines[p] = k.Line
			if seen[k.Value] {
				d.fail(p, "duplicate key")
				continue
			}
			seen[k.Value] = true
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(val, e, p)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.value(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			if n.Kind == yaml.ScalarNode {
				d.fail(path, "expected a string, got %s (quote it: %q)", n.Value, n.Value)
			} else {
				d.fail(path, "expected a string, got %s", describe(n))
			}
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := scalar(n, "!!bool")
		if !ok {
			d.fail(path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b == "true")
	case reflect.Int, reflect.Int32, reflect.Int64:
		s, ok := scalar(n, "!!int")
		i, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if !ok || err != nil {
			d.fail(path, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		s, ok := scalar(n, "!!int")
		if ok && strings.HasPrefix(s, "-") {
			d.fail(path, "must not be negative, got %s", s)
			return
		}
		u, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if !ok || err != nil {
			d.fail(path, "expected an integer from 0 to %d, got %s", uint64(1)<<v.Type().Bits()-1, describe(n))
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		s, ok := scalar(n, "!!int", "!!float")
		f, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(path, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.fail(path, "cannot decode into %s", v.Type())
	}
}

func scalar(n *yaml.Node, tags ...string) (string, bool) {
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.ShortTag()) {
		return "", false
	}
	return n.Value, true
}

// joinKey appends a field or map key to a path, quoting keys that are not plain identifiers.
func joinKey(path, key string) string {
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

type fieldInfo struct {
	index []int
	name  string
}

// fields lists a struct's JSON fields, flattening embedded structs as encoding/json does.
func fields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{index: f.Index, name: name})
	}
	return out
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "expected a mapping, got %s", describe(n))
		return
	}
	fs := fields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.fail(path, "unsupported key %s", describe(k))
			continue
		}
		p := joinKey(path, k.Value)
		d.lines[p] = k.Line
		if seen[k.Value] {
			d.fail(p, "duplicate field")
			continue
		}
		seen[k.Value] = true
		idx := slices.IndexFunc(fs, func(f fieldInfo) bool { return f.name == k.Value })
		if idx < 0 {
			hint, meant := suggest(k.Value, fs)
			d.fail(p, "unknown field%s", hint)
			if meant != "" && !seen[meant] {
				d.suggested[joinKey(path, meant)] = true
			}
			continue
		}
		d.value(val, v.FieldByIndex(fs[idx].index), p)
	}
}

// suggest proposes the known field closest to an unknown one, or lists the known fields.
func suggest(name string, fs []fieldInfo) (hint, meant string) {
	best, bestD := "", 3
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
		if dist := editDistance(strings.ToLower(name), strings.ToLower(f.name)); dist < bestD {
			best, bestD = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best), best
	}
	return " (known: " + strings.Join(names, ", ") + ")", ""
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

// nodeJSON writes any YAML value as JSON, keeping mapping key order.
func nodeJSON(b *bytes.Buffer, n *yaml.Node, budget *int) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if *budget--; *budget < 0 {
		return errTooLarge
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return nodeJSON(b, n.Content[0], budget)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return fmt.Errorf("line %d: unsupported key %s", k.Line, describe(k))
			}
			if i > 0 {
				b.WriteByte(',')
			}
			ks, _ := json.Marshal(k.Value)
			b.Write(ks)
			b.WriteByte(':')
			if err := nodeJSON(b, n.Content[i+1], budget); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, e, budget); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			b.WriteString(n.Value)
		case "!!int":
			i, err := strconv.ParseInt(n.Value, 0, 64)
			if err != nil {
				return fmt.Errorf("line %d: integer %s out of range", n.Line, n.Value)
			}
			b.WriteString(strconv.FormatInt(i, 10))
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return fmt.Errorf("line %d: %s has no JSON representation", n.Line, n.Value)
			}
			fs, _ := json.Marshal(f)
			b.Write(fs)
		default:
			s, _ := json.Marshal(n.Value)
			b.Write(s)
		}
	default:
		return fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	return nil
}
