package config

import (
	"strconv"
	"time"
)

// Errorf is fmt.Errorf for configuration errors, without fmt: linking fmt (and the reflection
// it pulls in) costs a Go wasm module about 180 KB. It knows the verbs %v, %s, %d, %q and %w
// (and %%) over strings, errors, Stringers (time.Duration), integers, floats, booleans and
// []string, and prints them exactly as fmt does. %w wraps its error as fmt.Errorf does
// (errors.Is and errors.As see it). Flags and widths are not supported; an argument of another
// type, or a verb its type has no meaning for, prints as "%!v(unsupported)" (fmt would print
// the value); extra arguments as "%!(EXTRA)".
func Errorf(format string, args ...any) error {
	msg, wrapped := sprintf(format, args)
	switch len(wrapped) {
	case 0:
		return &textError{msg}
	case 1:
		return &wrapError{msg, wrapped[0]}
	}
	return &wrapErrors{msg, wrapped}
}

type textError struct{ msg string }

func (e *textError) Error() string { return e.msg }

type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

type wrapErrors struct {
	msg  string
	errs []error
}

func (e *wrapErrors) Error() string   { return e.msg }
func (e *wrapErrors) Unwrap() []error { return e.errs }

// sprintf formats like fmt.Sprintf for Errorf's verbs and types, and returns the errors %w
// wrapped.
func sprintf(format string, args []any) (string, []error) {
	var b []byte
	var wrapped []error
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+1 == len(format) {
			b = append(b, "%!(NOVERB)"...)
			break
		}
		i++
		verb := format[i]
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if next >= len(args) {
			b = append(b, '%', '!', verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		arg := args[next]
		next++
		if verb == 'w' {
			if err, ok := arg.(error); ok && err != nil {
				wrapped = append(wrapped, err)
				verb = 'v'
			}
		}
		b = appendArg(b, verb, arg)
	}
	if next < len(args) {
		b = append(b, "%!(EXTRA)"...)
	}
	return string(b), wrapped
}

func appendArg(b []byte, verb byte, arg any) []byte {
	if arg == nil {
		if verb == 'v' {
			return append(b, "<nil>"...)
		}
		return append(append(b, '%', '!', verb), "(<nil>)"...)
	}
	switch verb {
	case 'd': // fmt prints a time.Duration's %d as its nanoseconds
		if d, ok := arg.(time.Duration); ok {
			return strconv.AppendInt(b, int64(d), 10)
		}
		if b2, ok := appendInteger(b, arg); ok {
			return b2
		}
	case 'v', 's', 'q':
		switch a := arg.(type) {
		case string:
			return appendString(b, verb, a)
		case error:
			return appendString(b, verb, a.Error())
		case interface{ String() string }:
			return appendString(b, verb, a.String())
		case []string:
			b = append(b, '[')
			for i, e := range a {
				if i > 0 {
					b = append(b, ' ')
				}
				b = appendString(b, verb, e)
			}
			return append(b, ']')
		}
		if verb != 'v' {
			break
		}
		if b2, ok := appendInteger(b, arg); ok {
			return b2
		}
		switch a := arg.(type) {
		case float64:
			return strconv.AppendFloat(b, a, 'g', -1, 64)
		case float32:
			return strconv.AppendFloat(b, float64(a), 'g', -1, 32)
		case bool:
			return strconv.AppendBool(b, a)
		}
	}
	return append(append(b, '%', '!', verb), "(unsupported)"...)
}

func appendString(b []byte, verb byte, s string) []byte {
	if verb == 'q' {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// appendInteger appends arg in decimal if it is one of Go's integer types.
func appendInteger(b []byte, arg any) ([]byte, bool) {
	switch a := arg.(type) {
	case int:
		return strconv.AppendInt(b, int64(a), 10), true
	case int8:
		return strconv.AppendInt(b, int64(a), 10), true
	case int16:
		return strconv.AppendInt(b, int64(a), 10), true
	case int32:
		return strconv.AppendInt(b, int64(a), 10), true
	case int64:
		return strconv.AppendInt(b, a, 10), true
	case uint:
		return strconv.AppendUint(b, uint64(a), 10), true
	case uint8:
		return strconv.AppendUint(b, uint64(a), 10), true
	case uint16:
		return strconv.AppendUint(b, uint64(a), 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(a), 10), true
	case uint64:
		return strconv.AppendUint(b, a, 10), true
	case uintptr:
		return strconv.AppendUint(b, uint64(a), 10), true
	}
	return b, false
}
