package match

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
)

func decode(t *testing.T, js string) (Spec, error) {
	t.Helper()
	var errs config.Errors
	root, ok := config.Parse([]byte(`{"match":`+js+`}`), &errs)
	require.True(t, ok)
	v, _ := root.Get("match")
	s := Decode(v)
	return s, errs.Err()
}

func TestMatches(t *testing.T) {
	req := &sdk.Request{Method: "GET", Path: "/api/v1/items?preview=1&q=a%20b", Authority: "reviews:9080",
		Headers: sdk.Headers{{"x-user", "tester-7"}, {"cookie", "a=1; session=abc"}}}
	tests := []struct {
		match string
		want  bool
	}{
		{`{}`, true},
		{`{"path":{"prefix":"/api/"}}`, true},
		{`{"path":{"prefix":"/web/"}}`, false},
		{`{"path":{"exact":"/api/v1/items"}}`, true},
		{`{"path":{"regex":"^/api/v[0-9]+/"}}`, true},
		{`{"method":"GET"}`, true},
		{`{"method":"POST"}`, false},
		{`{"headers":[{"name":"x-user","regex":"^tester-"}]}`, true},
		{`{"headers":[{"name":"x-user","exact":"tester-7"}]}`, true},
		{`{"headers":[{"name":"x-user","prefix":"dev-"}]}`, false},
		{`{"headers":[{"name":"x-user","present":true}]}`, true},
		{`{"headers":[{"name":"x-debug","absent":true}]}`, true},
		{`{"headers":[{"name":"x-user","absent":true}]}`, false},
		{`{"headers":[{"name":"x-debug","exact":""}]}`, false},
		{`{"query":[{"name":"preview","present":true}]}`, true},
		{`{"query":[{"name":"q","exact":"a b"}]}`, true},
		{`{"query":[{"name":"missing","present":true}]}`, false},
		{`{"path":{"prefix":"/api/"},"method":"GET","headers":[{"name":"x-user","prefix":"tester"}],"query":[{"name":"preview","exact":"1"}]}`, true},
		{`{"path":{"prefix":"/api/"},"method":"PUT"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.match, func(t *testing.T) {
			s, err := decode(t, tt.match)
			require.NoError(t, err)
			m, err := Compile(s)
			require.NoError(t, err)
			require.Equal(t, tt.want, m.Matches(req))
		})
	}
	var nilM *Matcher
	require.True(t, nilM.Matches(req))
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ match, want string }{
		{`{"path":{"regex":"(a"}}`, "match.path.regex: invalid regex \"(a\": missing closing )"},
		{`{"path":{}}`, "match.path: want exactly one of exact, prefix, regex"},
		{`{"path":{"regex":""}}`, "match.path.regex: must not be empty"},
		{`{"headers":[{"name":"x","exact":"a","prefix":"b"}]}`, "match.headers[0]: want exactly one of exact, prefix, regex, present, absent"},
		{`{"headers":[{"name":"X-User","present":true}]}`, `match.headers[0].name: header name "X-User" must be lowercase`},
		{`{"query":[{"name":"a","absent":true}]}`, "match.query[0]: want exactly one of exact, prefix, regex, present\nmatch.query[0].absent: unknown key"},
		{`{"methods":["GET"]}`, "match.methods: unknown key"},
		{`"GET"`, "match: want an object, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.match, func(t *testing.T) {
			_, err := decode(t, tt.match)
			require.EqualError(t, err, tt.want)
		})
	}
}

func ExampleDecode() {
	var errs config.Errors
	root, _ := config.Parse([]byte(`{"match": {"path": {"prefix": "/api/"}, "headers": [{"name": "x-user", "regex": "^tester-"}]}}`), &errs)
	v, _ := root.Get("match")
	spec := Decode(v)
	if err := errs.Err(); err != nil {
		fmt.Println(err)
		return
	}
	m := MustCompile(spec) // once, at configure time
	req := &sdk.Request{Method: "GET", Path: "/api/items", Headers: sdk.Headers{{"x-user", "tester-1"}}}
	fmt.Println(m.Matches(req))
	// Output: true
}

func TestUnescape(t *testing.T) {
	tests := map[string]string{"a+b": "a b", "a%20b": "a b", "%zz": "%zz", "%4": "%4", "%41%42": "AB", "x%2": "x%2"}
	for in, want := range tests {
		require.Equal(t, want, unescape(in), in)
	}
}
