package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidJSON is reported when the configuration is not valid JSON.
var ErrInvalidJSON = errors.New("configuration is not valid JSON")

// Errors collects configuration problems, each with its JSON path.
type Errors struct{ list []error }

// Add records err at path ("" is the document root).
func (e *Errors) Add(path string, err error) {
	if path == "" {
		e.list = append(e.list, err)
		return
	}
	e.list = append(e.list, &PathError{Path: path, Err: err})
}

// PathError is a configuration problem at a JSON path.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the problem without its path.
func (e *PathError) Unwrap() error { return e.Err }

// Prefix places every problem in err (one, or joined with errors.Join) under the JSON path
// prefix: a document embedded in a larger one reports its problems by their full path,
// attributed by structure (the PathError), never by parsing message text.
func Prefix(prefix string, err error) error {
	if err == nil || prefix == "" {
		return err
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = Prefix(prefix, e)
		}
		return errors.Join(out...)
	}
	if pe, ok := err.(*PathError); ok {
		if strings.HasPrefix(pe.Path, "[") {
			return &PathError{Path: prefix + pe.Path, Err: pe.Err}
		}
		return &PathError{Path: Join(prefix, pe.Path), Err: pe.Err}
	}
	return &PathError{Path: prefix, Err: err}
}

// Addf records a formatted problem at path.
func (e *Errors) Addf(path, format string, args ...any) {
	e.Add(path, Errorf(format, args...))
}

// Len is the number of problems recorded.
func (e *Errors) Len() int { return len(e.list) }

// Err joins every problem (errors.Join), or returns nil.
func (e *Errors) Err() error { return errors.Join(e.list...) }

// Join appends a key to a JSON path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends an array index to a JSON path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Value is one JSON value with its path.
type Value struct {
	Path string
	n    *node // nil reads as null
	errs *Errors
}

// Raw returns v's exact text in the document (an object or array with its insides as written),
// or "" for a Value that holds nothing. A filter that embeds another filter's config hands this
// text to that filter's parser.
func (v Value) Raw() string {
	if v.n == nil {
		return ""
	}
	return v.n.raw
}

// Object is a JSON object being decoded; Close reports the keys nobody asked for.
type Object struct {
	Path   string
	keys   []string
	values map[string]*node
	seen   map[string]bool
	errs   *Errors
}

// Parse validates data as JSON and returns its root object. Empty input (or only whitespace)
// is an empty object. It returns ok=false (with the problem recorded) when data is not a JSON
// object.
func Parse(data []byte, errs *Errors) (Object, bool) {
	if strings.TrimSpace(string(data)) == "" {
		return Object{values: map[string]*node{}, seen: map[string]bool{}, errs: errs}, true
	}
	root, err := parseJSON(data)
	if err != nil {
		errs.Add("", err)
		return Object{}, false
	}
	return Value{n: &root, errs: errs}.Object()
}

// ParseOne parses data as one JSON value of any type and decodes it with decode: the parser
// of a piece embedded in larger configurations (a match, one policy), its problems at paths
// inside the piece, joined with errors.Join.
func ParseOne[T any](data []byte, decode func(Value) T) (T, error) {
	var errs Errors
	root, err := parseJSON(data)
	if err != nil {
		var zero T
		errs.Add("", err)
		return zero, errs.Err()
	}
	out := decode(Value{n: &root, errs: &errs})
	return out, errs.Err()
}

// Object returns v as an object; a wrong type is recorded and ok is false. Duplicate keys are
// errors.
func (v Value) Object() (Object, bool) {
	if v.kind() != kindObject {
		v.errs.Addf(v.Path, "want an object, got %s", typeName(v.n))
		return Object{}, false
	}
	o := Object{Path: v.Path, values: make(map[string]*node, len(v.n.keys)), seen: map[string]bool{}, errs: v.errs}
	for i, key := range v.n.keys {
		if _, dup := o.values[key]; dup {
			v.errs.Addf(Join(v.Path, key), "duplicate key")
			continue
		}
		o.keys = append(o.keys, key)
		o.values[key] = &v.n.elems[i]
	}
	return o, true
}

// Array returns v's elements; a wrong type is recorded and ok is false.
func (v Value) Array() ([]Value, bool) {
	if v.kind() != kindArray {
		v.errs.Addf(v.Path, "want an array, got %s", typeName(v.n))
		return nil, false
	}
	out := make([]Value, len(v.n.elems))
	for i := range v.n.elems {
		out[i] = Value{Path: Index(v.Path, i), n: &v.n.elems[i], errs: v.errs}
	}
	return out, true
}

// String returns v as a string; a wrong type is recorded and ok is false.
func (v Value) String() (string, bool) {
	if v.kind() != kindString {
		v.errs.Addf(v.Path, "want a string, got %s", typeName(v.n))
		return "", false
	}
	return v.n.str, true
}

// Bool returns v as a boolean; a wrong type is recorded and ok is false.
func (v Value) Bool() (bool, bool) {
	if v.kind() != kindBool {
		v.errs.Addf(v.Path, "want a boolean, got %s", typeName(v.n))
		return false, false
	}
	return v.n.truth, true
}

// Number returns v as a float64; a wrong type is recorded and ok is false.
func (v Value) Number() (float64, bool) {
	if v.kind() != kindNumber {
		v.errs.Addf(v.Path, "want a number, got %s", typeName(v.n))
		return 0, false
	}
	return v.n.num, true
}

func (v Value) kind() kind {
	if v.n == nil {
		return kindNull
	}
	return v.n.kind
}

// Int returns v as an integer; a wrong type or a fraction is recorded and ok is false.
func (v Value) Int() (int, bool) {
	f, ok := v.Number()
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		v.errs.Addf(v.Path, "want an integer, got %s", v.n.raw)
		return 0, false
	}
	return int(f), true
}

// Duration returns v, a Go duration string ("200ms"), as a time.Duration.
func (v Value) Duration() (time.Duration, bool) {
	s, ok := v.String()
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		v.errs.Addf(v.Path, "invalid duration %q (want a Go duration such as \"200ms\")", s)
		return 0, false
	}
	return d, true
}

// Errorf records a problem at v's path.
func (v Value) Errorf(format string, args ...any) { v.errs.Addf(v.Path, format, args...) }

// Errorf records a problem at o's path.
func (o Object) Errorf(format string, args ...any) { o.errs.Addf(o.Path, format, args...) }

// Keys returns the object's keys in document order.
func (o Object) Keys() []string { return o.keys }

// Len is the number of keys.
func (o Object) Len() int { return len(o.keys) }

// Has reports whether key is present (it does not mark it used).
func (o Object) Has(key string) bool {
	_, ok := o.values[key]
	return ok
}

// Get returns the value at key and marks it used. A JSON null counts as absent.
func (o Object) Get(key string) (Value, bool) {
	n, ok := o.values[key]
	if !ok {
		return Value{}, false
	}
	o.seen[key] = true
	if n.kind == kindNull {
		return Value{}, false
	}
	return Value{Path: Join(o.Path, key), n: n, errs: o.errs}, true
}

// Each calls fn for every key in document order (map-shaped objects) and marks them used.
func (o Object) Each(fn func(key string, v Value)) {
	for _, k := range o.keys {
		o.seen[k] = true
		fn(k, Value{Path: Join(o.Path, k), n: o.values[k], errs: o.errs})
	}
}

// String decodes the optional string at key into dst.
func (o Object) String(key string, dst *string) bool {
	v, ok := o.Get(key)
	if !ok {
		return false
	}
	s, ok := v.String()
	if ok {
		*dst = s
	}
	return ok
}

// Bool decodes the optional boolean at key into dst.
func (o Object) Bool(key string, dst *bool) bool {
	v, ok := o.Get(key)
	if !ok {
		return false
	}
	b, ok := v.Bool()
	if ok {
		*dst = b
	}
	return ok
}

// Number decodes the optional number at key into dst.
func (o Object) Number(key string, dst *float64) bool {
	v, ok := o.Get(key)
	if !ok {
		return false
	}
	f, ok := v.Number()
	if ok {
		*dst = f
	}
	return ok
}

// Int decodes the optional integer at key into dst.
func (o Object) Int(key string, dst *int) bool {
	v, ok := o.Get(key)
	if !ok {
		return false
	}
	n, ok := v.Int()
	if ok {
		*dst = n
	}
	return ok
}

// Strings decodes the optional array of strings at key into dst.
func (o Object) Strings(key string, dst *[]string) bool {
	v, ok := o.Get(key)
	if !ok {
		return false
	}
	arr, ok := v.Array()
	if !ok {
		return false
	}
	out := make([]string, 0, len(arr))
	good := true
	for _, e := range arr {
		s, ok := e.String()
		good = good && ok
		out = append(out, s)
	}
	*dst = out
	return good
}

// Object returns the optional object at key.
func (o Object) Object(key string) (Object, bool) {
	v, ok := o.Get(key)
	if !ok {
		return Object{}, false
	}
	return v.Object()
}

// Array returns the optional array at key.
func (o Object) Array(key string) ([]Value, bool) {
	v, ok := o.Get(key)
	if !ok {
		return nil, false
	}
	return v.Array()
}

// Close records every key that no getter asked for as unknown.
func (o Object) Close() {
	for _, k := range o.keys {
		if !o.seen[k] {
			o.errs.Addf(Join(o.Path, k), "unknown key")
		}
	}
}

// typeName names n's type in errors ("want a string, got a number"); nil is null.
func typeName(n *node) string {
	if n == nil {
		return "null"
	}
	switch n.kind {
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	}
	return "null"
}

// ErrorfAt records a problem at o's path joined with key.
func (o Object) ErrorfAt(key, format string, args ...any) {
	o.errs.Addf(Join(o.Path, key), format, args...)
}
