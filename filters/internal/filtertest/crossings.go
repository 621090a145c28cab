package filtertest

import (
	"testing"

	"github.com/wasmesh/wasmesh/testenv"
)

// Crossings is what one request cost in crossings between the host and the VMs: host calls out
// of the modules, event callbacks into them, and allocation callbacks (the host handing a
// value over), each by name.
type Crossings struct {
	HostCalls, Events, Allocs int
	HostByName, EventByName   map[string]int
}

// Measure runs req through env once and returns its crossings.
func Measure(t testing.TB, env *testenv.Env, req testenv.Request) Crossings {
	t.Helper()
	before := env.Crossings()
	if res := env.Do(req); res.Err != nil {
		t.Fatal(res.Err)
	}
	d := env.Crossings().Since(before)
	c := Crossings{HostByName: d.HostCalls, EventByName: d.Callbacks}
	c.HostCalls, c.Events, c.Allocs = d.Totals()
	return c
}
