package metrics

import "strings"

// Kind is a metric type.
type Kind uint8

// Metric kinds.
const (
	Counter Kind = iota
	Gauge
	Histogram
)

// Name returns base tagged with key/value pairs: Name(base, "service", "reviews") is
// base + ";service=reviews". Values are sanitized (';', '=' and spaces become '_').
func Name(base string, kv ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteByte(';')
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(Sanitize(kv[i+1]))
	}
	return b.String()
}

// Sanitize makes a tag value safe for the `;key=value` scheme.
func Sanitize(s string) string {
	bad := func(c byte) bool { return c == ';' || c == '=' || c <= ' ' || c >= 0x7f }
	for i := 0; i < len(s); i++ {
		if bad(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if bad(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}

// Vec is a metric family: one base name, fixed tag keys, one metric per tag-value set.
type Vec struct {
	Base string
	Keys []string
	Kind Kind
	ids  map[string]uint32
	buf  []byte
}

// NewVec returns a family; nothing is defined until a tag set is first used.
func NewVec(kind Kind, base string, keys ...string) *Vec {
	return &Vec{Base: base, Keys: keys, Kind: kind, ids: map[string]uint32{}}
}

// ID returns the metric ID for the tag values (in Keys order), defining the metric on first
// use. It does not allocate when the tag set was seen before.
func (v *Vec) ID(values ...string) uint32 { return v.IDWith(Define, values...) }

// IDWith is ID with the metric defined by define (the adapter's host, or a test recorder).
func (v *Vec) IDWith(define func(Kind, string) uint32, values ...string) uint32 {
	v.buf = v.buf[:0]
	for _, s := range values {
		v.buf = append(v.buf, s...)
		v.buf = append(v.buf, 0)
	}
	if id, ok := v.ids[string(v.buf)]; ok {
		return id
	}
	kv := make([]string, 0, 2*len(v.Keys))
	for i, k := range v.Keys {
		val := ""
		if i < len(values) {
			val = values[i]
		}
		kv = append(kv, k, val)
	}
	id := define(v.Kind, Name(v.Base, kv...))
	v.ids[string(v.buf)] = id
	return id
}

// Add increments a counter or gauge of the family by n.
func (v *Vec) Add(n int64, values ...string) {
	hostIncrement(v.ID(values...), n)
}

// Record records a histogram value.
func (v *Vec) Record(n uint64, values ...string) {
	hostRecord(v.ID(values...), n)
}

// Define defines one metric by its full (tagged) name and returns its ID.
func Define(kind Kind, name string) uint32 { return hostDefine(kind, name) }

// Increment adds n to a counter by ID.
func Increment(id uint32, n uint64) { hostIncrement(id, int64(n)) }

// AddGauge adds n (which may be negative) to a gauge by ID.
func AddGauge(id uint32, n int64) { hostIncrement(id, n) }

// Record records a histogram value by ID.
func Record(id uint32, n uint64) { hostRecord(id, n) }
