package telemetry_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
)

// The replay cases in testdata/ (also run in Envoy by testenv/e2e's differential suite).
func TestReplay(t *testing.T) { filtertest.Replay(t, "testdata/*.yaml") }
