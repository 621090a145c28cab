package authz_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
)

// The replay cases in testdata/ (the plaintext ones also run in Envoy by testenv/e2e's
// differential suite) and testdata/mtls/ (the connection's identity, testenv only).
func TestReplay(t *testing.T) {
	filtertest.Replay(t, "testdata/*.yaml")
	filtertest.Replay(t, "testdata/mtls/*.yaml")
}
