package replay

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const goodFile = `# a chain of two filters
filters:
- wasm: ../build/canary.wasm
  config: {weights: {v1: 90, v2: 10}, list: [1, "two", true, null, 2.5]}
  rootId: canary
- wasm: /abs/raw.wasm
  config: "plain text, passed as-is"
cases:
- name: header override goes to v2
  request: {method: GET, path: /, headers: {Host: reviews, x-canary: always}, body: ""}
  upstream: {status: 200, headers: {content-type: text/plain}, body: ok}
  advance: 0s
  expect:
    upstreamRequest: {headers: {X-Wasmesh-Cluster: reviews|v2}, body: "", cluster: reviews|v2, authority: reviews}
    response: {status: 200, headers: {x-wasmesh-version: v2}, body: ok}
    metrics: {some_metric_name: 1, ratio: 0.5}
- name: blocked
  request: {method: POST, path: /admin, body: secret}
  advance: 1.5s
  expect:
    upstreamRequest: null
    response: {status: 403}
- name: defaults
`

func TestParse(t *testing.T) {
	f, err := Parse("cases.yaml", []byte(goodFile))
	require.NoError(t, err)
	ok, empty := Is("ok"), Is("")
	require.Equal(t, &File{
		Path: "cases.yaml",
		Filters: []Filter{
			{Wasm: "../build/canary.wasm", Config: []byte(`{"weights":{"v1":90,"v2":10},"list":[1,"two",true,null,2.5]}`), RootID: "canary", Line: 3},
			{Wasm: "/abs/raw.wasm", Config: []byte("plain text, passed as-is"), Line: 6},
		},
		Cases: []Case{
			{
				Name: "header override goes to v2", Line: 9,
				Request:  Request{Method: "GET", Path: "/", Headers: Headers{{"host", "reviews"}, {"x-canary", "always"}}},
				Upstream: Upstream{Status: 200, Headers: Headers{{"content-type", "text/plain"}}, Body: "ok"},
				Expect: Expect{
					UpstreamRequest: &ExpectUpstream{Cluster: "reviews|v2", Authority: "reviews", Headers: map[string]Value{"x-wasmesh-cluster": Is("reviews|v2")}, Body: &empty},
					Response:        &ExpectResponse{Status: 200, Headers: map[string]Value{"x-wasmesh-version": Is("v2")}, Body: &ok},
					Metrics:         map[string]Metric{"some_metric_name": {Value: 1}, "ratio": {Value: 0.5}},
				},
			},
			{
				Name: "blocked", Line: 17,
				Request:  Request{Method: "POST", Path: "/admin", Body: "secret"},
				Upstream: Upstream{Status: 200},
				Advance:  1500 * time.Millisecond,
				Expect:   Expect{NoUpstream: true, Response: &ExpectResponse{Status: 403}},
			},
			{Name: "defaults", Line: 23, Request: Request{Method: "GET", Path: "/"}, Upstream: Upstream{Status: 200}},
		},
	}, f)
	require.Equal(t, "reviews", f.Cases[0].Request.Authority())
	// Every name-like config string is a possible version of each request host.
	require.Equal(t, []string{"reviews|list", "reviews|two", "reviews|v1", "reviews|v2", "reviews|weights"}, f.Clusters())
}

func TestParseErrors(t *testing.T) {
	const head = "filters: [{wasm: a.wasm}]\n"
	tests := []struct{ name, yaml, want string }{
		{"yaml syntax", "filters:\n- wasm: a.wasm\n  config: {a: 1\ncases: []\n",
			"f.yaml:3: invalid YAML: did not find expected ',' or '}'"},
		{"block mapping", "filters:\n  - wasm: a\n x: 1\n", "f.yaml:3: invalid YAML: did not find expected key"},
		{"tab indentation", "filters:\n\t- wasm: a\n", "f.yaml:2: invalid YAML: found character that cannot start any token"},
		{"empty file", "", "f.yaml: empty file (want the keys filters and cases)"},
		{"only a comment", "# nothing\n", "f.yaml: empty file (want the keys filters and cases)"},
		{"two documents", head + "cases: [{name: x}]\n---\nfilters: []\n", "f.yaml:4: a second YAML document: a replay file holds one"},
		{"top level sequence", "- a\n- b\n", "f.yaml:1: expected a mapping, got a list"},
		{"unknown top key", head + "cases: [{name: x}]\ncase: []\n", `f.yaml:3: case: unknown field (did you mean "cases"?)`},
		{"repeated top key", head + "cases: [{name: x}]\ncases: [{name: y}]\n", "f.yaml:3: cases: duplicate field"},
		{"missing keys", "{}\n", "f.yaml:1: filters: required\nf.yaml:1: cases: required"},
		{"null filters", "filters:\ncases: [{name: x}]\n", "f.yaml:1: filters: required, got null"},
		{"filters not a list", "filters: {wasm: a.wasm}\ncases: [{name: x}]\n", "f.yaml:1: filters: expected a list, got a mapping"},
		{"no filters", "filters: []\ncases: [{name: x}]\n", "f.yaml:1: filters: at least one filter is required"},
		{"no cases", head + "cases: []\n", "f.yaml:2: cases: at least one case is required"},
		{"filter keys", "filters:\n- wasm: a.wasm\n  rootid: x\n- config: {}\ncases: [{name: x}]\n",
			`f.yaml:3: filters[0].rootid: unknown field (did you mean "rootId"?)` + "\nf.yaml:4: filters[1].wasm: required"},
		{"wasm not a string", "filters: [{wasm: [a]}]\ncases: [{name: x}]\n", "f.yaml:1: filters[0].wasm: expected a string, got a list"},
		{"case not a mapping", head + "cases: [just a name]\n", `f.yaml:2: cases[0]: expected a mapping, got "just a name"`},
		{"case name", head + "cases:\n- request: {}\n- name: \" \"\n",
			"f.yaml:3: cases[0].name: required\nf.yaml:4: cases[1].name: required, got an empty string"},
		{"repeated case name", head + "cases:\n- name: a\n- name: b\n- name: a\n", `f.yaml:5: cases[2].name: "a" repeats the name of cases[0]`},
		{"connection", head + "cases:\n- name: a\n  connection: {mtls: yes please, peerURISAN: spiffe://td/x, tls: 1}\n- name: b\n  connection: {peerURISAN: spiffe://td/x}\n",
			`f.yaml:4: cases[0].connection.tls: unknown field (did you mean "mtls"?)` + "\n" +
				`f.yaml:4: cases[0].connection.mtls: expected true or false, got "yes please"` + "\n" +
				"f.yaml:4: cases[0].connection.peerURISAN: a peer certificate needs mtls: true\n" +
				"f.yaml:6: cases[1].connection.peerURISAN: a peer certificate needs mtls: true"},
		{"request keys", head + "cases:\n- name: a\n  request: {methd: GET, path: x, headers: [a, b], body: {a: 1}}\n",
			`f.yaml:4: cases[0].request.methd: unknown field (did you mean "method"?)` + "\n" +
				`f.yaml:4: cases[0].request.path: "x" does not start with /` + "\n" +
				"f.yaml:4: cases[0].request.headers: expected a mapping of header names to values, got a list\n" +
				"f.yaml:4: cases[0].request.body: expected a string, got a mapping"},
		{"header value", head + "cases:\n- name: a\n  request:\n    headers:\n      x-a: [1]\n      X-B: b\n      x-b: c\n",
			"f.yaml:6: cases[0].request.headers.x-a: expected a string, got a list\nf.yaml:8: cases[0].request.headers.x-b: duplicate header (names are case-insensitive)"},
		{"upstream status", head + "cases:\n- name: a\n  upstream: {status: \"200\"}\n- name: b\n  upstream: {status: 42}\n",
			`f.yaml:4: cases[0].upstream.status: expected an HTTP status code, got "200"` + "\n" +
				"f.yaml:6: cases[1].upstream.status: 42 is not an HTTP status code (100-599)"},
		{"advance", head + "cases:\n- name: a\n  advance: soon\n- name: b\n  advance: 5\n- name: c\n  advance: -1s\n",
			`f.yaml:4: cases[0].advance: "soon" is not a duration (like 200ms or 1.5s)` + "\n" +
				"f.yaml:6: cases[1].advance: expected a duration like 200ms or 1.5s, got 5\n" +
				`f.yaml:8: cases[2].advance: "-1s" is negative`},
		{"expect keys", head + "cases:\n- name: a\n  expect:\n    respons: {status: 200}\n    upstreamRequest: {header: {}}\n",
			`f.yaml:5: cases[0].expect.respons: unknown field (did you mean "response"?)` + "\n" +
				`f.yaml:6: cases[0].expect.upstreamRequest.header: unknown field (did you mean "headers"?)`},
		{"expect response", head + "cases:\n- name: a\n  expect:\n    response: {status: ok, headers: x, body: [1]}\n",
			"f.yaml:5: cases[0].expect.response.status: expected an HTTP status code, got \"ok\"\n" +
				"f.yaml:5: cases[0].expect.response.headers: expected a mapping of header names to values, got \"x\"\n" +
				"f.yaml:5: cases[0].expect.response.body: expected a body: a string, {regex: RE} or {contains: TEXT}; got a list"},
		{"metrics", head + "cases:\n- name: a\n  expect:\n    metrics: {a: one, b: .nan, c: 2}\n- name: b\n  expect: {metrics: [a]}\n",
			"f.yaml:5: cases[0].expect.metrics.a: expected a number (or null: no such metric), got \"one\"\n" +
				"f.yaml:5: cases[0].expect.metrics.b: .nan is not a finite number\n" +
				"f.yaml:7: cases[1].expect.metrics: expected a mapping of metric names to values, got a list"},
		{"value matchers", head + "cases:\n- name: a\n  expect:\n    response:\n      headers: {x-a: {regex: '[a'}, x-b: {regex: a, contains: b}, x-c: {}, x-d: {exact: a}, x-e: [a]}\n      body: null\n    upstreamRequest: {body: {contains: [x]}}\n",
			"f.yaml:8: cases[0].expect.upstreamRequest.body.contains: expected a string, got a list\n" +
				"f.yaml:6: cases[0].expect.response.headers.x-a.regex: missing closing ]: `[a`\n" +
				"f.yaml:6: cases[0].expect.response.headers.x-b: expected one of regex and contains, got both\n" +
				"f.yaml:6: cases[0].expect.response.headers.x-c: expected one of regex and contains, got neither\n" +
				"f.yaml:6: cases[0].expect.response.headers.x-d.exact: unknown field (known: regex, contains)\n" +
				"f.yaml:6: cases[0].expect.response.headers.x-d: expected one of regex and contains, got neither\n" +
				"f.yaml:6: cases[0].expect.response.headers.x-e: expected a header value: a string, {regex: RE} or {contains: TEXT}; got a list\n" +
				`f.yaml:7: cases[0].expect.response.body: a body cannot be absent: write "" for an empty body, or leave the key out`},
		{"clusters", head + "clusters: [reviews|v2, '', default, [a]]\ncases: [{name: a}]\n",
			`f.yaml:2: clusters[1]: "" is not a cluster name (like reviews|v2)` + "\n" +
				`f.yaml:2: clusters[2]: "default" is the cluster of requests without a routing header; it always exists` + "\n" +
				"f.yaml:2: clusters[3]: expected a string, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			require.EqualError(t, err, tt.want)
			var pe *Error
			require.True(t, errors.As(err, &pe), "every problem is an *Error")
			require.Equal(t, "f.yaml", pe.File)
		})
	}
}

// The value forms of expectations: a string, null (absent), {regex}, {contains}; metrics null.
func TestParseValues(t *testing.T) {
	f, err := Parse("f.yaml", []byte(`filters: [{wasm: a.wasm}]
clusters: [reviews|stable]
cases:
- name: a
  expect:
    upstreamRequest: {headers: {x-request-id: {regex: '^[0-9a-f-]{36}$'}, x-debug: null}, body: {contains: id}}
    response: {headers: {X-Trace: {contains: "00-"}}, body: {regex: "^ok"}}
    metrics: {gone: null, n: 2}
`))
	require.NoError(t, err)
	e := f.Cases[0].Expect
	require.Equal(t, "a match of /^[0-9a-f-]{36}$/", e.UpstreamRequest.Headers["x-request-id"].String())
	require.Equal(t, Absent(), e.UpstreamRequest.Headers["x-debug"])
	require.Equal(t, Contain("id"), *e.UpstreamRequest.Body)
	require.Equal(t, Contain("00-"), e.Response.Headers["x-trace"])
	require.Equal(t, `a match of /^ok/`, e.Response.Body.String())
	require.Equal(t, map[string]Metric{"gone": {Absent: true}, "n": {Value: 2}}, e.Metrics)
	require.Equal(t, []string{"reviews|stable"}, f.ExtraClusters)
	require.Equal(t, []string{"reviews|stable"}, f.Clusters())
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "build"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "cases"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "build", "a.wasm"), []byte("\x00asm"), 0o644))
	write := func(name, s string) string {
		p := filepath.Join(dir, "cases", name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}

	p := write("good.yaml", "filters: [{wasm: ../build/a.wasm}]\ncases: [{name: x}]\n")
	f, err := ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "build", "a.wasm"), f.Filters[0].Wasm, "relative to the file")

	p = write("missing.yaml", "filters:\n- wasm: ../build/a.wasm\n- wasm: ../build/b.wasm\n- wasm: ../build\ncases: [{name: x}]\n")
	_, err = ReadFile(p)
	require.EqualError(t, err, p+":3: filters[1].wasm: ../build/b.wasm: no such module (run make build or wasmesh build)\n"+
		p+":4: filters[2].wasm: ../build is a directory, not a .wasm file")
	require.ErrorIs(t, err, ErrMissingModule)

	_, err = ReadFile(filepath.Join(dir, "nope.yaml"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.EqualError(t, err, "open "+filepath.Join(dir, "nope.yaml")+": no such file or directory")

	p = write("bad.yaml", "filters: [{wasm: ../build/b.wasm}]\ncases: [{name: x, expect: {response: {status: 0}}}]\n")
	_, err = ReadFile(p)
	require.EqualError(t, err, p+":2: cases[0].expect.response.status: 0 is not an HTTP status code (100-599)",
		"syntax and schema problems come before module checks")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("filters: [{wasm: a}]\ncases: [{name: x, expect: {upstreamRequest: null}}]\n"))
	seeds, err := filepath.Glob("../../testdata/replay/*.yaml")
	require.NoError(f, err)
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err == nil {
			require.NotEmpty(t, file.Filters)
			require.NotEmpty(t, file.Cases)
			return
		}
		var pe *Error
		require.True(t, errors.As(err, &pe), "%v", err)
	})
}
