package accesslog

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Writer appends one JSON object to a buffer.
type Writer struct {
	buf   []byte
	first bool
}

// Object starts a JSON object appended to buf.
func Object(buf []byte) *Writer {
	return &Writer{buf: append(buf, '{'), first: true}
}

func (w *Writer) key(k string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = appendString(w.buf, k)
	w.buf = append(w.buf, ':')
}

// String adds a string field.
func (w *Writer) String(k, v string) *Writer {
	w.key(k)
	w.buf = appendString(w.buf, v)
	return w
}

// Int adds an integer field.
func (w *Writer) Int(k string, v int64) *Writer {
	w.key(k)
	w.buf = strconv.AppendInt(w.buf, v, 10)
	return w
}

// Float adds a number field (shortest representation).
func (w *Writer) Float(k string, v float64) *Writer {
	w.key(k)
	w.buf = strconv.AppendFloat(w.buf, v, 'f', -1, 64)
	return w
}

// Bool adds a boolean field.
func (w *Writer) Bool(k string, v bool) *Writer {
	w.key(k)
	w.buf = strconv.AppendBool(w.buf, v)
	return w
}

// Time adds a time as an RFC 3339 string with milliseconds, in UTC.
func (w *Writer) Time(k string, t time.Time) *Writer {
	w.key(k)
	w.buf = AppendTime(append(w.buf, '"'), t)
	w.buf = append(w.buf, '"')
	return w
}

// Close ends the object and returns the buffer.
func (w *Writer) Close() []byte { return append(w.buf, '}') }

// appendString appends s as a JSON string: quotes, backslashes and control characters escaped,
// '<', '>' and '&' as \u003c, \u003e, \u0026 (safe inside HTML), U+2028 and U+2029 escaped (safe
// inside JavaScript), and every byte that is not UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < ' ' || c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n == 1:
				b = append(b, "\ufffd"...)
			case r == '\u2028' || r == '\u2029':
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			default:
				b = append(b, s[i:i+n]...)
			}
			i += n - 1
		}
	}
	return append(b, '"')
}

const hex = "0123456789abcdef"

// AppendTime appends t in UTC as RFC 3339 with milliseconds ("2026-11-23T09:00:00.123Z"),
// without time.Format's layout parsing (several times cheaper in Go wasm).
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = appendInt(b, year, 4)
	b = append(b, '-')
	b = appendInt(b, int(month), 2)
	b = append(b, '-')
	b = appendInt(b, day, 2)
	b = append(b, 'T')
	b = appendInt(b, hour, 2)
	b = append(b, ':')
	b = appendInt(b, minute, 2)
	b = append(b, ':')
	b = appendInt(b, sec, 2)
	b = append(b, '.')
	b = appendInt(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

// appendInt appends a non-negative n zero-padded to width digits.
func appendInt(b []byte, n, width int) []byte {
	var d [8]byte
	i := len(d)
	for n > 0 || width > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		width--
		if i == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}
