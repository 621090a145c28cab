package authz_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
)

// The replay cases in testdata/ (also run in Envoy by testenv/e2e's differential suite, the
// mTLS ones over a client certificate with the case's URI SAN).
func TestReplay(t *testing.T) { filtertest.Replay(t, "testdata/*.yaml") }
