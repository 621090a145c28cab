package crd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wasmesh/wasmesh/internal/yamlstrict"
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
	// Validated reports that Object passed Validate when Decode or DecodeObject decoded it, so
	// that admission does not validate it again; a document built by hand has it false.
	Validated bool `json:"-"`
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
	roots, err := yamlstrict.Documents(data)
	var (
		docs []Document
		errs []error
	)
	for i, root := range roots {
		doc, derrs := decodeDocument(Document{Source: source, Index: i + 1}, root)
		if len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		docs = append(docs, doc)
	}
	var se *yamlstrict.SyntaxError
	if errors.As(err, &se) {
		// the YAML stream cannot be resynchronised after a syntax error
		errs = append(errs, &DocError{Source: source, Index: len(roots) + 1, Line: se.Line, Err: se})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return docs, nil
}

// DecodeObject decodes one resource as the API receives it, JSON (or YAML), exactly as
// Decode decodes a document of a file, so that every problem reads the same. where names the
// document (Source, Index, Line). The lines of problems are those of where.Lines when the
// client sent the lines of its file; otherwise, when data spans several lines (the document
// as written), its own lines counted from where.Line; otherwise where.Line. Every problem is
// a *DocError, joined.
func DecodeObject(where Document, data []byte) (Document, error) {
	where.Object, where.Validated = nil, false
	ownLines := where.Lines == nil && bytes.ContainsRune(bytes.TrimSpace(data), '\n')
	if where.Lines == nil && !ownLines {
		where.Lines = map[string]int{} // a one-line object: its line says nothing
	}
	roots, err := yamlstrict.Documents(data)
	var se *yamlstrict.SyntaxError
	switch {
	case errors.As(err, &se):
		line := where.Line
		if ownLines {
			line = where.lineIn(se.Line)
		}
		return where, &DocError{Source: where.Source, Index: where.Index, Line: line, Err: se}
	case err != nil:
		return where, where.Wrap(err)
	case len(roots) != 1:
		return where, where.Wrap(fmt.Errorf("expected one resource, got %d documents", len(roots)))
	}
	doc, errs := decodeDocument(where, roots[0])
	return doc, errors.Join(errs...)
}

// lineIn turns a line of the document's own text into a line of its source (the document
// starts on d.Line).
func (d Document) lineIn(line int) int {
	if line > 0 && d.Line > 1 {
		return line + d.Line - 1
	}
	return line
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

// decodeDocument decodes the resource at root into a copy of doc (Source, Index and,
// when a client sent them, Line and Lines already set).
func decodeDocument(doc Document, root *yaml.Node) (Document, []error) {
	// Lines come from the nodes unless a client sent those of its file. lineIn is bound to
	// where the document starts before doc.Line is set from the root.
	fileLines, lineIn := doc.Lines == nil, doc.lineIn
	if fileLines {
		doc.Line = lineIn(root.Line)
		doc.Lines = map[string]int{"": doc.Line}
	}
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
		return doc, wrapAll([]*FieldError{{Err: fmt.Errorf("expected a resource (a mapping with apiVersion, kind, metadata, spec), got %s", yamlstrict.Describe(root))}})
	}
	var tm struct{ apiVersion, kind, name string }
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], yamlstrict.Resolve(root.Content[i+1])
		if fileLines {
			doc.Lines[k.Value] = lineIn(k.Line)
		}
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
	w := newWalker()
	w.Decode(root, "", obj)
	if fileLines {
		for p, l := range w.Lines() {
			doc.Lines[p] = lineIn(l)
		}
	}
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
	decodeErrs := fieldErrors(w.Errors())
	fes = decodeErrs
	for _, fe := range Validate(obj) {
		if w.Suggested(fe.Path) {
			continue
		}
		if !slices.ContainsFunc(decodeErrs, func(de *FieldError) bool {
			return pathWithin(fe.Path, de.Path) || fe.Path != "spec" && fe.Path != "metadata" && pathWithin(de.Path, fe.Path)
		}) {
			fes = append(fes, fe)
		}
	}
	doc.Validated = len(fes) == 0
	return doc, wrapAll(fes)
}

// newWalker returns the strict walker for resources: crd's own types decode by hooks.
func newWalker() *yamlstrict.Walker {
	w := yamlstrict.New(yamlstrict.MaxNodes) // the most YAML nodes (aliases expanded) one document may hold
	w.Hook(reflect.TypeFor[Duration](), func(n *yaml.Node) (any, error) {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			return nil, fmt.Errorf("expected a duration such as \"200ms\", got %s", yamlstrict.Describe(n))
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (use a number and a unit: ms, s, m, h)", n.Value)
		}
		return Duration{dur}, nil
	})
	return w
}

// fieldErrors turns the walker's problems into FieldErrors (their lines are the document's).
func fieldErrors(es []*yamlstrict.Error) []*FieldError {
	out := make([]*FieldError, len(es))
	for i, e := range es {
		out[i] = &FieldError{Path: e.Path, Err: e.Err}
	}
	return out
}

// pathWithin reports whether path is parent or one of its descendants.
func pathWithin(path, parent string) bool {
	if parent == "" || path == parent {
		return true
	}
	return strings.HasPrefix(path, parent) && (path[len(parent)] == '.' || path[len(parent)] == '[')
}
