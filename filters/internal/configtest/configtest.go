// Package configtest holds the checks every built-in filter's config parser gets: the exact
// error of a bad config, the json.Marshal round trip of a good one, and the fuzz body.
package configtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Parse runs a filter's ParseConfig on in: with wantErr set, the error must read exactly so;
// otherwise the config must parse, and its json.Marshal output must parse to the same value.
// It returns the parsed config (zero on an expected error).
func Parse[C any](t *testing.T, parse func([]byte) (C, error), in, wantErr string) C {
	t.Helper()
	c, err := parse([]byte(in))
	if wantErr != "" {
		require.EqualError(t, err, wantErr)
		var zero C
		return zero
	}
	require.NoError(t, err)
	out, err := json.Marshal(c)
	require.NoError(t, err)
	c2, err := parse(out)
	require.NoError(t, err, "%s", out)
	require.Equal(t, c, c2)
	return c
}

// Fuzz is FuzzParseConfig for a filter, seeded with testdata/*.json and extra: a config the
// parser accepts must compile, and its json.Marshal output must be accepted too.
func Fuzz[C, F any](f *testing.F, parse func([]byte) (C, error), compile func(C) (F, error), extra ...[]byte) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, b := range extra {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data)
		if err != nil {
			return
		}
		if _, err := compile(c); err != nil {
			t.Fatalf("a parsed config does not compile: %v\n%s", err, data)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parse(out); err != nil {
			t.Fatalf("marshalled config refused: %v\n%s", err, out)
		}
	})
}
