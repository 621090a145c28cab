package tracecontext

import (
	"math/rand/v2"
)

// Header names.
const (
	TraceParent = "traceparent"
	TraceState  = "tracestate"
	RequestID   = "x-request-id"
)

// TraceParent is a parsed traceparent header.
type Parent struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
}

const hexdigits = "0123456789abcdef"

// Parse parses a traceparent value. It accepts version 00 exactly, and future versions by
// their first four fields (the spec's forward compatibility); all-zero ids are invalid.
func Parse(s string) (Parent, bool) {
	var p Parent
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return p, false
	}
	ver, ok := hexByte(s[0], s[1])
	if !ok || ver == 0xff || (ver == 0 && len(s) != 55) || (ver != 0 && len(s) > 55 && s[55] != '-') {
		return p, false
	}
	if !decode(p.TraceID[:], s[3:35]) || !decode(p.SpanID[:], s[36:52]) {
		return p, false
	}
	if p.Flags, ok = hexByte(s[53], s[54]); !ok {
		return p, false
	}
	if p.TraceID == ([16]byte{}) || p.SpanID == ([8]byte{}) {
		return p, false
	}
	return p, true
}

// Append appends the version-00 traceparent of p to b.
func (p Parent) Append(b []byte) []byte {
	b = append(b, '0', '0', '-')
	b = appendHex(b, p.TraceID[:])
	b = append(b, '-')
	b = appendHex(b, p.SpanID[:])
	b = append(b, '-', hexdigits[p.Flags>>4], hexdigits[p.Flags&0xf])
	return b
}

// String returns the version-00 traceparent of p.
func (p Parent) String() string { return string(p.Append(make([]byte, 0, 55))) }

// TraceIDString returns the trace id as 32 lowercase hex digits.
func (p Parent) TraceIDString() string { return string(appendHex(make([]byte, 0, 32), p.TraceID[:])) }

// Child returns p with a new random span id: the context to send upstream when this hop
// continues the incoming trace (the incoming span becomes the parent).
func (p Parent) Child() Parent {
	p.SpanID = newSpanID()
	return p
}

// New starts a trace: random trace and span ids, sampled flag set.
func New() Parent {
	var p Parent
	for p.TraceID == ([16]byte{}) {
		putUint64(p.TraceID[:8], rand.Uint64())
		putUint64(p.TraceID[8:], rand.Uint64())
	}
	p.SpanID = newSpanID()
	p.Flags = 0x01
	return p
}

func newSpanID() [8]byte {
	var s [8]byte
	for s == ([8]byte{}) {
		putUint64(s[:], rand.Uint64())
	}
	return s
}

// NewRequestID returns a random UUID version 4, e.g. 0f8fad5b-d9cb-469f-a165-70867728950e.
func NewRequestID() string {
	var u [16]byte
	putUint64(u[:8], rand.Uint64())
	putUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	b := make([]byte, 0, 36)
	b = appendHex(b, u[0:4])
	b = append(b, '-')
	b = appendHex(b, u[4:6])
	b = append(b, '-')
	b = appendHex(b, u[6:8])
	b = append(b, '-')
	b = appendHex(b, u[8:10])
	b = append(b, '-')
	b = appendHex(b, u[10:])
	return string(b)
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

func appendHex(b, src []byte) []byte {
	for _, c := range src {
		b = append(b, hexdigits[c>>4], hexdigits[c&0xf])
	}
	return b
}

func decode(dst []byte, s string) bool {
	for i := range dst {
		v, ok := hexByte(s[2*i], s[2*i+1])
		if !ok {
			return false
		}
		dst[i] = v
	}
	return true
}

func hexByte(a, b byte) (byte, bool) {
	x, ok1 := nibble(a)
	y, ok2 := nibble(b)
	return x<<4 | y, ok1 && ok2
}

// nibble accepts lowercase hex only, as the spec requires.
func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
