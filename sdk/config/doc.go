// Package config decodes plugin configuration strictly: the JSON must be valid, unknown keys
// and wrong types are rejected, and every problem is reported in one pass, each prefixed with
// its JSON path (`rules[2].match.headers[0].regex: invalid regex "(a": missing closing )`).
//
// It reads JSON with its own strict parser (json.go: RFC 8259, nesting bounded, no reflection
// and no encoding/json, so it stays small in Go wasm): a filter's ParseConfig walks its Object
// with typed getters and finally calls Close to reject unknown keys.
package config
