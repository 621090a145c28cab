package yamlstrict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	rawType  = reflect.TypeFor[json.RawMessage]()
	timeType = reflect.TypeFor[time.Time]()
)

// Decode walks n into v (a non-nil pointer) by the json tags of v's types, strictly: every
// problem is recorded with its path. A json.RawMessage takes any value as JSON (mapping key
// order kept), a time.Time an RFC 3339 string; other types by their Hook.
func (w *Walker) Decode(n *yaml.Node, path string, v any) {
	w.value(n, reflect.ValueOf(v).Elem(), path)
}

func (w *Walker) value(n *yaml.Node, v reflect.Value, path string) {
	n = Resolve(n)
	if !w.visit(n, path) {
		return
	}
	if IsNull(n) {
		v.SetZero()
		return
	}
	if h, ok := w.hooks[v.Type()]; ok {
		x, err := h(n)
		if err != nil {
			w.Errorf(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(x))
		return
	}
	switch v.Type() {
	case rawType:
		if b, ok := w.JSON(n, path); ok {
			v.SetBytes(b)
		}
		return
	case timeType:
		t, err := time.Parse(time.RFC3339, n.Value)
		if err != nil {
			w.Errorf(n, path, "expected an RFC 3339 time, got %s", Describe(n))
			return
		}
		v.Set(reflect.ValueOf(t))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		w.value(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		w.structure(n, v, path)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		if w.entries(n, path, nil, func(en Entry) {
			e := reflect.New(v.Type().Elem()).Elem()
			w.value(en.Value, e, en.Path)
			m.SetMapIndex(reflect.ValueOf(en.Key).Convert(v.Type().Key()), e)
		}) {
			v.Set(m)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.Errorf(n, path, "expected a list, got %s", Describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			w.value(e, s.Index(i), Index(path, i))
		}
		v.Set(s)
	case reflect.String:
		if s, ok := w.String(n, path); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		b, ok := scalar(n, "!!bool")
		if !ok {
			w.Errorf(n, path, "expected true or false, got %s", Describe(n))
			return
		}
		v.SetBool(b == "true")
	case reflect.Int, reflect.Int32, reflect.Int64:
		s, ok := scalar(n, "!!int")
		i, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if !ok || err != nil {
			w.Errorf(n, path, "expected an integer, got %s", Describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		s, ok := scalar(n, "!!int")
		if ok && strings.HasPrefix(s, "-") {
			w.Errorf(n, path, "must not be negative, got %s", s)
			return
		}
		u, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if !ok || err != nil {
			w.Errorf(n, path, "expected an integer from 0 to %d, got %s", uint64(1)<<v.Type().Bits()-1, Describe(n))
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		f, ok := w.Number(n, path)
		if ok {
			v.SetFloat(f)
		}
	default:
		w.Errorf(n, path, "cannot decode into %s", v.Type())
	}
}

// Number returns a finite number, or reports anything else.
func (w *Walker) Number(n *yaml.Node, path string) (float64, bool) {
	n = Resolve(n)
	s, ok := scalar(n, "!!int", "!!float")
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if !ok || err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		w.Errorf(n, path, "expected a number, got %s", Describe(n))
		return 0, false
	}
	return f, true
}

func scalar(n *yaml.Node, tags ...string) (string, bool) {
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.ShortTag()) {
		return "", false
	}
	return n.Value, true
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

func (w *Walker) structure(n *yaml.Node, v reflect.Value, path string) {
	fs := fields(v.Type())
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	w.entries(n, path, names, func(e Entry) {
		f := fs[slices.Index(names, e.Key)]
		w.value(e.Value, v.FieldByIndex(f.index), e.Path)
	})
}

// JSON returns any value as JSON, mapping key order kept, or reports what JSON cannot hold.
func (w *Walker) JSON(n *yaml.Node, path string) ([]byte, bool) {
	var b bytes.Buffer
	if err := w.json(&b, n, path); err != nil {
		w.Errorf(n, path, "%v", err)
		return nil, false
	}
	return b.Bytes(), true
}

func (w *Walker) json(b *bytes.Buffer, n *yaml.Node, path string) error {
	n = Resolve(n)
	if w.budget--; w.budget < 0 {
		return fmt.Errorf("the document expands to more than %d YAML nodes (aliases included)", w.max)
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := Resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return fmt.Errorf("line %d: unsupported key %s", k.Line, Describe(k))
			}
			if i > 0 {
				b.WriteByte(',')
			}
			ks, _ := json.Marshal(k.Value)
			b.Write(ks)
			b.WriteByte(':')
			if err := w.json(b, n.Content[i+1], path); err != nil {
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
			if err := w.json(b, e, path); err != nil {
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
			i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			if err != nil {
				return fmt.Errorf("line %d: integer %s out of range", n.Line, n.Value)
			}
			b.WriteString(strconv.FormatInt(i, 10))
		case "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
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
