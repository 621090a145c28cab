package config

import (
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds how deeply a configuration may nest arrays and objects (the limit
// encoding/json applies), so adversarial input cannot exhaust the Wasm VM's stack.
const maxDepth = 10000

// errTooDeep is reported when the configuration nests deeper than maxDepth; it is an
// ErrInvalidJSON for callers that branch on errors.Is.
var errTooDeep error = tooDeepError{}

type tooDeepError struct{}

func (tooDeepError) Error() string {
	return "configuration is not valid JSON: arrays and objects nest deeper than " + strconv.Itoa(maxDepth) + " levels"
}

func (tooDeepError) Is(target error) bool { return target == ErrInvalidJSON }

// kind is a JSON value's type. The zero kind is null: a Value without a node reads as null.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// node is one parsed JSON value.
type node struct {
	kind  kind
	truth bool     // kindBool
	num   float64  // kindNumber
	str   string   // kindString, decoded
	raw   string   // the value's exact text in the document
	keys  []string // kindObject: decoded keys in document order, duplicates included
	elems []node   // kindArray: elements; kindObject: the value of keys[i]
}

// parseJSON parses data, one JSON value with optional surrounding whitespace (RFC 8259).
// Strings are decoded byte for byte except for escapes: bytes that are not UTF-8 are kept, and
// a \u escape of a lone surrogate decodes to U+FFFD. A number is its float64 value (±Inf when
// out of range). The error is ErrInvalidJSON, or errTooDeep beyond maxDepth.
func parseJSON(data []byte) (node, error) {
	p := parser{s: string(data)}
	var n node
	p.space()
	if !p.value(&n) {
		if p.tooDeep {
			return node{}, errTooDeep
		}
		return node{}, ErrInvalidJSON
	}
	p.space()
	if p.i != len(p.s) {
		return node{}, ErrInvalidJSON
	}
	return n, nil
}

type parser struct {
	s       string
	i       int
	depth   int
	tooDeep bool
}

func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// eat consumes c if it is the next byte.
func (p *parser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// value parses the value at p.i (no leading whitespace) into n.
func (p *parser) value(n *node) bool {
	if p.i >= len(p.s) {
		return false
	}
	start := p.i
	switch c := p.s[p.i]; c {
	case '{':
		return p.object(n)
	case '[':
		return p.array(n)
	case '"':
		s, ok := p.string()
		if !ok {
			return false
		}
		n.kind, n.str = kindString, s
	case 't':
		if !p.literal("true") {
			return false
		}
		n.kind, n.truth = kindBool, true
	case 'f':
		if !p.literal("false") {
			return false
		}
		n.kind = kindBool
	case 'n':
		if !p.literal("null") {
			return false
		}
	default:
		if c != '-' && (c < '0' || c > '9') || !p.number() {
			return false
		}
		n.kind = kindNumber
		n.num, _ = strconv.ParseFloat(p.s[start:p.i], 64) // ±Inf out of range, as before
	}
	n.raw = p.s[start:p.i]
	return true
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.i < len(word) || p.s[p.i:p.i+len(word)] != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() bool {
	p.eat('-')
	if !p.eat('0') && !p.digits() {
		return false
	}
	if p.eat('.') && !p.digits() {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		return p.digits()
	}
	return true
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		p.tooDeep = true
		return false
	}
	return true
}

func (p *parser) object(n *node) bool {
	if !p.enter() {
		return false
	}
	start := p.i
	p.i++ // '{'
	n.kind = kindObject
	p.space()
	if !p.eat('}') {
		for {
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return false
			}
			k, ok := p.string()
			if !ok {
				return false
			}
			p.space()
			if !p.eat(':') {
				return false
			}
			p.space()
			n.keys = append(n.keys, k)
			n.elems = append(n.elems, node{})
			if !p.value(&n.elems[len(n.elems)-1]) {
				return false
			}
			p.space()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return false
			}
			p.space()
		}
	}
	n.raw = p.s[start:p.i]
	p.depth--
	return true
}

func (p *parser) array(n *node) bool {
	if !p.enter() {
		return false
	}
	start := p.i
	p.i++ // '['
	n.kind = kindArray
	p.space()
	if !p.eat(']') {
		for {
			n.elems = append(n.elems, node{})
			if !p.value(&n.elems[len(n.elems)-1]) {
				return false
			}
			p.space()
			if p.eat(']') {
				break
			}
			if !p.eat(',') {
				return false
			}
			p.space()
		}
	}
	n.raw = p.s[start:p.i]
	p.depth--
	return true
}

// string consumes the string at p.i (its opening quote) and returns it decoded.
func (p *parser) string() (string, bool) {
	p.i++ // '"'
	start := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], true
		case c == '\\':
			return p.escaped(start)
		case c < ' ':
			return "", false
		}
		p.i++
	}
	return "", false
}

// escaped continues string at the first backslash, decoding into a buffer.
func (p *parser) escaped(start int) (string, bool) {
	buf := make([]byte, 0, len(p.s)-start)
	buf = append(buf, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), true
		case c < ' ':
			return "", false
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			return "", false
		}
		switch p.s[p.i] {
		case '"', '\\', '/':
			buf = append(buf, p.s[p.i])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(p.s, p.i+1)
			if !ok {
				return "", false
			}
			p.i += 4
			// A high surrogate followed by \u and a low one is one rune; any other surrogate
			// is U+FFFD (utf8.AppendRune's replacement).
			if r >= 0xD800 && r < 0xDC00 && p.i+6 < len(p.s) && p.s[p.i+1] == '\\' && p.s[p.i+2] == 'u' {
				if r2, ok := hex4(p.s, p.i+3); ok && r2 >= 0xDC00 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					p.i += 6
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
		p.i++
	}
	return "", false
}

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if len(s)-i < 4 {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
