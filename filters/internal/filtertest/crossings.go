package filtertest

import (
	"maps"
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

// AllocCallbacks are the exports the host calls to allocate guest memory for a value it
// returns.
var AllocCallbacks = []string{"malloc", "proxy_on_memory_allocate"}

// Measure runs req through env once and returns its crossings.
func Measure(t testing.TB, env *testenv.Env, req testenv.Request) Crossings {
	t.Helper()
	hb, cb := env.HostCalls(), env.Callbacks()
	if res := env.Do(req); res.Err != nil {
		t.Fatal(res.Err)
	}
	c := Crossings{HostByName: delta(hb, env.HostCalls()), EventByName: delta(cb, env.Callbacks())}
	for _, n := range c.HostByName {
		c.HostCalls += n
	}
	for name, n := range c.EventByName {
		if name == AllocCallbacks[0] || name == AllocCallbacks[1] {
			c.Allocs += n
			continue
		}
		c.Events += n
	}
	return c
}

func delta(before, after map[string]int) map[string]int {
	out := maps.Clone(after)
	for k, n := range before {
		out[k] -= n
		if out[k] == 0 {
			delete(out, k)
		}
	}
	return out
}
