package yamlstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// SyntaxError is input that is not YAML. Line is 1-based; 0 when the parser gives none.
type SyntaxError struct {
	Line    int
	Problem string
}

func (e *SyntaxError) Error() string { return "invalid YAML: " + e.Problem }

// Documents parses data, YAML or JSON, into the root nodes of its documents in order; empty
// documents (a trailing ---, a file of comments) are left out. A syntax error ends the
// stream: the documents before it are returned with a *SyntaxError.
func Documents(data []byte) ([]*yaml.Node, error) {
	data = unescapeSolidus(data)
	roots, err := parse(data)
	if err == nil {
		return roots, nil
	}
	se := syntaxError(err)
	if parserProblems[se.Problem] {
		se.Line = problemLine(data, se)
	}
	return roots, se
}

// unescapeSolidus rewrites JSON's `\/` (an escaped /, which some encoders write) as `/`: the
// one escape of JSON that YAML's double-quoted strings lack. Only valid JSON is touched.
func unescapeSolidus(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\/`)) || !json.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data))
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
			if c == '/' {
				out[len(out)-1] = '/' // replaces the backslash
				continue
			}
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		}
		out = append(out, c)
	}
	return out
}

func parse(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var roots []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return roots, nil
		}
		if err != nil {
			return roots, err
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 && !IsNull(n.Content[0]) {
			roots = append(roots, n.Content[0])
		}
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(err error) *SyntaxError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &SyntaxError{Line: line, Problem: m[2]}
	}
	if len(msg) > len("yaml: ") && msg[:len("yaml: ")] == "yaml: " {
		msg = msg[len("yaml: "):]
	}
	return &SyntaxError{Problem: msg}
}

// parserProblems are the messages of yaml.v3's parser (not its scanner). The scanner reports
// the line of the problem, 1-based. The parser reports the 0-based line where the block or
// flow holding the problem starts, or, when that is the first line, the 0-based line of the
// problem: an indentation error on line 5 of a resource reads "line 4".
var parserProblems = map[string]bool{
	"did not find expected ',' or '}'":       true,
	"did not find expected ',' or ']'":       true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected node content":     true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// problemLine finds the line of a parser error: the first line after the one yaml.v3 names
// whose prefix of data (that line included) fails with the same problem. Both marks yaml.v3
// may name are 0-based and at or before the problem, so the search starts one line below (on
// line 1 when it names none: both marks are on the first line).
// Prefixes are tried at growing distances, then halved (O(log n) parses of the prefix).
func problemLine(data []byte, se *SyntaxError) int {
	ends := lineEnds(data)
	fails := func(line int) bool {
		if line >= len(ends) {
			return true
		}
		_, err := parse(data[:ends[line-1]])
		return err != nil && syntaxError(err).Problem == se.Problem
	}
	lo := se.Line + 1 // first candidate
	if lo > len(ends) {
		return se.Line
	}
	if fails(lo) {
		return lo
	}
	// fails(lo) is false: grow the step until a failing line, then bisect (lo, hi].
	hi, step := lo+1, 1
	for !fails(hi) {
		lo = hi
		step *= 2
		hi = min(lo+step, len(ends))
		if lo == len(ends) {
			return se.Line + 1
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// lineEnds returns the offset just past each line of data (its newline included).
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}
