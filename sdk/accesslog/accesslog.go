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
	w.buf = append(w.buf, '"')
	w.buf = t.UTC().AppendFormat(w.buf, "2006-01-02T15:04:05.000Z07:00")
	w.buf = append(w.buf, '"')
	return w
}

// Close ends the object and returns the buffer.
func (w *Writer) Close() []byte { return append(w.buf, '}') }
