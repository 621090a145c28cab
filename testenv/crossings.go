package testenv

import "maps"

// Crossings counts the crossings between the host and a VM, the unit of a filter's cost in
// Envoy (2–3 µs each in V8): host calls out of the module, and callbacks into it.
type Crossings struct {
	HostCalls map[string]int // host functions called, by name (Env.HostCalls)
	Callbacks map[string]int // calls into the modules, by export name (Env.Callbacks)
}

// AllocCallbacks returns the exports the host calls to allocate guest memory for a value it
// hands over (one per host call that returns data).
func AllocCallbacks() []string { return []string{allocMalloc, allocProxy} }

const (
	allocMalloc = "malloc"
	allocProxy  = "proxy_on_memory_allocate"
)

// Crossings returns the counts since the Env started; subtract two with Since.
func (e *Env) Crossings() Crossings {
	return Crossings{HostCalls: e.HostCalls(), Callbacks: e.Callbacks()}
}

// Since returns the crossings between before and c.
func (c Crossings) Since(before Crossings) Crossings {
	return Crossings{HostCalls: sub(c.HostCalls, before.HostCalls), Callbacks: sub(c.Callbacks, before.Callbacks)}
}

// Totals returns the number of host calls, of event callbacks (every call into the module but
// allocations) and of allocation callbacks.
func (c Crossings) Totals() (hostCalls, events, allocs int) {
	for _, n := range c.HostCalls {
		hostCalls += n
	}
	for name, n := range c.Callbacks {
		if name == allocMalloc || name == allocProxy {
			allocs += n
		} else {
			events += n
		}
	}
	return hostCalls, events, allocs
}

func sub(after, before map[string]int) map[string]int {
	out := maps.Clone(after)
	for k, n := range before {
		out[k] -= n
		if out[k] == 0 {
			delete(out, k)
		}
	}
	return out
}
