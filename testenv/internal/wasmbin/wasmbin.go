// Package wasmbin reads the parts of a WebAssembly binary that decide whether a host can load
// it: imports (with function signatures), exports and custom section names. It does not
// validate code; a module it accepts may still fail to compile.
package wasmbin

import (
	"errors"
	"fmt"
	"strings"
)

// ValType is a WebAssembly value type.
type ValType byte

// Value types.
const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
	F32 ValType = 0x7d
	F64 ValType = 0x7c
)

func (v ValType) String() string {
	switch v {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return fmt.Sprintf("0x%02x", byte(v))
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

func (f FuncType) String() string {
	return typesString(f.Params) + " -> " + typesString(f.Results)
}

// Equal reports whether both signatures are the same.
func (f FuncType) Equal(o FuncType) bool {
	return string(valBytes(f.Params)) == string(valBytes(o.Params)) && string(valBytes(f.Results)) == string(valBytes(o.Results))
}

func valBytes(v []ValType) []byte {
	b := make([]byte, len(v))
	for i, t := range v {
		b[i] = byte(t)
	}
	return b
}

func typesString(v []ValType) string {
	if len(v) == 0 {
		return "()"
	}
	s := make([]string, len(v))
	for i, t := range v {
		s[i] = t.String()
	}
	return strings.Join(s, " ")
}

// Kind is the kind of an import or export.
type Kind byte

// Import and export kinds.
const (
	KindFunc   Kind = 0
	KindTable  Kind = 1
	KindMemory Kind = 2
	KindGlobal Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindFunc:
		return "function"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	}
	return fmt.Sprintf("kind %d", byte(k))
}

// Import is one import of the module.
type Import struct {
	Module, Name string
	Kind         Kind
	Type         FuncType // for functions
}

// Export is one export of the module.
type Export struct {
	Name string
	Kind Kind
}

// Module is what Parse found.
type Module struct {
	Imports []Import
	Exports []Export
	Customs []string // custom section names
}

// ErrNotWasm is returned for bytes that do not start with the WebAssembly magic and version 1.
var ErrNotWasm = errors.New("not a WebAssembly binary module (bad magic or version)")

// Parse reads the module's type, import and export sections.
func Parse(b []byte) (*Module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" || b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, ErrNotWasm
	}
	r := &reader{b: b, off: 8}
	m := &Module{}
	var types []FuncType
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d: size: %w", id, err)
		}
		end := r.off + int(size)
		if end > len(r.b) || end < r.off {
			return nil, fmt.Errorf("section %d at offset %d: size %d runs past the end", id, r.off, size)
		}
		sec := &reader{b: r.b[:end], off: r.off}
		switch id {
		case 0:
			name, err := sec.name()
			if err != nil {
				return nil, fmt.Errorf("custom section: %w", err)
			}
			m.Customs = append(m.Customs, name)
		case 1:
			if types, err = sec.types(); err != nil {
				return nil, fmt.Errorf("type section: %w", err)
			}
		case 2:
			if m.Imports, err = sec.imports(types); err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
		case 7:
			if m.Exports, err = sec.exports(); err != nil {
				return nil, fmt.Errorf("export section: %w", err)
			}
		}
		r.off = end
	}
	return m, nil
}

type reader struct {
	b   []byte
	off int
}

var errEOF = errors.New("unexpected end of section")

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("bad LEB128 integer")
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if r.off+int(n) > len(r.b) {
		return "", errEOF
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

func (r *reader) valTypes() ([]ValType, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) > len(r.b)-r.off {
		return nil, errEOF
	}
	out := make([]ValType, n)
	for i := range out {
		c, err := r.byte()
		if err != nil {
			return nil, err
		}
		out[i] = ValType(c)
	}
	return out, nil
}

func (r *reader) types() ([]FuncType, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	var out []FuncType
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return nil, err
		}
		if form != 0x60 {
			return nil, fmt.Errorf("type %d: unsupported form 0x%02x", i, form)
		}
		p, err := r.valTypes()
		if err != nil {
			return nil, err
		}
		res, err := r.valTypes()
		if err != nil {
			return nil, err
		}
		out = append(out, FuncType{Params: p, Results: res})
	}
	return out, nil
}

func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) imports(types []FuncType) ([]Import, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	var out []Import
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return nil, err
		}
		name, err := r.name()
		if err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		imp := Import{Module: mod, Name: name, Kind: Kind(kind)}
		switch imp.Kind {
		case KindFunc:
			idx, err := r.u32()
			if err != nil {
				return nil, err
			}
			if int(idx) >= len(types) {
				return nil, fmt.Errorf("import %s.%s: type index %d out of range", mod, name, idx)
			}
			imp.Type = types[idx]
		case KindTable:
			if _, err := r.byte(); err != nil {
				return nil, err
			}
			if err := r.limits(); err != nil {
				return nil, err
			}
		case KindMemory:
			if err := r.limits(); err != nil {
				return nil, err
			}
		case KindGlobal:
			if _, err := r.byte(); err != nil {
				return nil, err
			}
			if _, err := r.byte(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("import %s.%s: unknown kind %d", mod, name, kind)
		}
		out = append(out, imp)
	}
	return out, nil
}

func (r *reader) exports() ([]Export, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	var out []Export
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		out = append(out, Export{Name: name, Kind: Kind(kind)})
	}
	return out, nil
}
