package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
why (each failed test's failure lines again; its package's whole output is above):
--- FAIL: TestEnvoy/sub m/slow
    x_test.go:9: boom
--- FAIL: TestEnvoy m/slow
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

// A failed run repeats each failed test's testify failures just above the count, and only
// them: a CI log cut to its head and tail still shows why.
func TestProgressRepeatsWhyAtTheEnd(t *testing.T) {
	var out strings.Builder
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&out, func() time.Time { return now })
	var in strings.Builder
	emit := func(test, line string) {
		fmt.Fprintf(&in, `{"Action":"output","Package":"m/a","Test":%q,"Output":%q}`+"\n", test, line+"\n")
	}
	emit("TestA/kill", "=== RUN   TestA/kill")
	emit("TestA/kill", "    a_test.go:10: 63 requests were flowing")
	emit("TestA/kill", "    a_test.go:12: ")
	emit("TestA/kill", "        \tError Trace:\t/src/a_test.go:12")
	emit("TestA/kill", "        \tError:      \t\"6\" is not less than or equal to \"5\"")
	emit("TestA/kill", "        \tTest:       \tTestA/kill")
	emit("TestA/kill", "        \tMessages:   \trequest 1: status 503")
	for i := range 20 {
		emit("TestA/kill", fmt.Sprintf("        \t            \trequest %d: status 503", i+2))
	}
	emit("TestA/kill", "    a_test.go:20: a log line after the failure")
	emit("TestA/kill", "--- FAIL: TestA/kill (1.00s)")
	fmt.Fprintln(&in, `{"Action":"fail","Package":"m/a","Test":"TestA/kill"}`)
	for i := range 30 {
		emit("TestA", fmt.Sprintf("    a_test.go:30: sidecar log line %d %s", i, strings.Repeat("é", 400)))
	}
	fmt.Fprintln(&in, `{"Action":"fail","Package":"m/a","Test":"TestA"}`)
	fmt.Fprintln(&in, `{"Action":"pass","Package":"m/a","Test":"TestB"}`)
	fmt.Fprintln(&in, `{"Action":"fail","Package":"m/a","Elapsed":2}`)
	require.NoError(t, p.read(strings.NewReader(in.String())))
	require.Equal(t, 1, p.summary())

	_, why, ok := strings.Cut(out.String(), "why (each failed test's failure lines again")
	require.True(t, ok, out.String())
	lines := strings.Split(strings.TrimSuffix(why, "\n"), "\n")[1:]
	require.Equal(t, []string{
		"--- FAIL: TestA/kill m/a",
		"    a_test.go:12:",
		"    Error Trace:\t/src/a_test.go:12",
		"    Error:      \t\"6\" is not less than or equal to \"5\"",
		"    Test:       \tTestA/kill",
		"    Messages:   \trequest 1: status 503",
		"    request 2: status 503",
	}, lines[:7])
	// A long testify failure keeps its start, the Error line in it.
	require.Equal(t, []string{
		"    request 8: status 503",
		"    (25 lines; the first 12)",
		"--- FAIL: TestA m/a",
		"    (30 lines; the last 12)",
	}, lines[12:16])
	// The parent has no testify failure: its last lines, each cut whole runes short.
	require.Len(t, lines, 16+maxWhyLines+2)
	require.True(t, strings.HasPrefix(lines[16], "    a_test.go:30: sidecar log line 18 é"), lines[16])
	require.True(t, utf8.ValidString(lines[16]) && strings.HasSuffix(lines[16], " …"), lines[16])
	require.LessOrEqual(t, len(lines[16]), 4+maxWhyLineLen+len(" …"))
	require.Equal(t, "FAIL: 1 of 1 package(s) failed in 0s: m/a", lines[len(lines)-2])
	require.Equal(t, "tests: 1 passed, 2 failed, 0 skipped", lines[len(lines)-1])
}
