// Package match holds request matchers: path (exact, prefix, regex), method, headers (exact,
// prefix, regex, present, absent) and query parameters (exact, prefix, regex, present). A Spec
// is plain configuration data (JSON tags, the docs/filters.md "match" shape); Decode reads it
// strictly from JSON, and Compile turns it into a Matcher once, at configure time.
package match
