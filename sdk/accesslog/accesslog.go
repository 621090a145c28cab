package accesslog

import (
	"strconv"
	"time"

	"github.com/tidwall/gjson"
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
	w.buf = gjson.AppendJSONString(w.buf, k)
	w.buf = append(w.buf, ':')
}

// String adds a string field.
func (w *Writer) String(k, v string) *Writer {
	w.key(k)
	w.buf = gjson.AppendJSONString(w.buf, v)
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
