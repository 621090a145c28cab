package replay

import (
	"fmt"
	"regexp"
	"strings"
)

// Value is what an expected header value or body must be: exactly Exact, match Regex, or
// contain Contains (exactly one is set), or, for a header, Absent.
type Value struct {
	Exact    *string
	Regex    *regexp.Regexp
	Contains *string
	// Absent (a header written as null): the header must not be there.
	Absent bool
}

// Is is the Value that must equal s exactly.
func Is(s string) Value { return Value{Exact: &s} }

// Contain is the Value that must contain s.
func Contain(s string) Value { return Value{Contains: &s} }

// Match is the Value that must match the RE2 regular expression re (anywhere in the value:
// anchor it with ^ and $ to match the whole value). It panics on a bad expression (tests).
func Match(re string) Value { return Value{Regex: regexp.MustCompile(re)} }

// Absent is the Value of a header that must not be there.
func Absent() Value { return Value{Absent: true} }

// String describes the expectation for messages: "text", a regex /re/, contains "text", absent.
func (v Value) String() string {
	switch {
	case v.Absent:
		return "absent"
	case v.Regex != nil:
		return "a match of /" + v.Regex.String() + "/"
	case v.Contains != nil:
		return fmt.Sprintf("a value containing %q", *v.Contains)
	case v.Exact != nil:
		return fmt.Sprintf("%q", *v.Exact)
	}
	return "anything"
}

// ok reports whether got (present says whether there is a value at all) meets v.
func (v Value) ok(got string, present bool) bool {
	switch {
	case v.Absent:
		return !present
	case !present:
		return false
	case v.Regex != nil:
		return v.Regex.MatchString(got)
	case v.Contains != nil:
		return strings.Contains(got, *v.Contains)
	case v.Exact != nil:
		return got == *v.Exact
	}
	return true
}
