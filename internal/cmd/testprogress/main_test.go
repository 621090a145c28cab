package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out strings.Builder
	p := newProgress(&out, func() time.Time { return now })
	in := `{"Action":"start","Package":"m/slow"}
{"Action":"start","Package":"m/fast"}
{"Action":"run","Package":"m/slow","Test":"TestEnvoy"}
{"Action":"run","Package":"m/slow","Test":"TestEnvoy/sub"}
{"Action":"pass","Package":"m/fast","Elapsed":0.2}
{"Action":"skip","Package":"m/none"}
`
	require.NoError(t, p.read(strings.NewReader(in)))
	require.Equal(t, "ok   m/fast 0.2s\n?    m/none [no test files]\n", out.String())

	now = now.Add(31 * time.Second)
	out.Reset()
	p.waiting()
	require.Equal(t, "... 31s: 2 package(s) done, waiting on m/slow (31s, in TestEnvoy/sub)\n", out.String())

	out.Reset()
	in = `{"Action":"output","Package":"m/slow","Test":"TestEnvoy/sub","Output":"    x_test.go:9: boom\n"}
{"Action":"fail","Package":"m/slow","Test":"TestEnvoy/sub"}
{"Action":"fail","Package":"m/slow","Test":"TestEnvoy"}
{"Action":"fail","Package":"m/slow","Elapsed":31.5}
{"ImportPath":"m/broken","Action":"build-output","Output":"broken.go:3:1: syntax error\n"}
{"ImportPath":"m/broken","Action":"build-fail"}
not json
`
	require.NoError(t, p.read(strings.NewReader(in)))
	p.waiting() // nothing is running any more
	require.Equal(t, 1, p.summary())
	require.Equal(t, `FAIL m/slow 31.5s
        x_test.go:9: boom
FAIL m/broken [build failed]
broken.go:3:1: syntax error
not json
FAIL: 2 of 4 package(s) failed in 31s: m/slow, m/broken
tests: 0 passed, 2 failed, 0 skipped
`, out.String())
}

func TestProgressPasses(t *testing.T) {
	var out strings.Builder
	p := newProgress(&out, time.Now)
	require.NoError(t, p.read(strings.NewReader(`{"Action":"pass","Package":"m/a","Test":"TestA"}`+"\n"+
		`{"Action":"skip","Package":"m/a","Test":"TestB"}`+"\n"+`{"Action":"pass","Package":"m/a","Elapsed":1}`+"\n")))
	require.Equal(t, 0, p.summary())
	require.Contains(t, out.String(), "PASS: 1 package(s) in ")
	require.True(t, strings.HasSuffix(out.String(), "\ntests: 1 passed, 0 failed, 1 skipped\n"), "the plain count closes the output:\n%s", out.String())
}
