package timer

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// DefaultResolution is the tick period while timers are pending.
const DefaultResolution = 5 * time.Millisecond

// Ticker drives Timers from the plugin context's tick (types.PluginContext.OnTick): the
// host tick runs only while a timer is pending. Call OnTick from the plugin's OnTick.
type Ticker struct {
	Timers
	// Resolution is the tick period while timers are pending (DefaultResolution when 0).
	Resolution time.Duration
	// Now returns the current time (time.Now when nil; in Go wasm it is WASI clock_time_get).
	Now     func() time.Time
	ticking bool
}

func (t *Ticker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// After schedules fn after d and switches the host tick on if needed. fn runs in the plugin
// (root) context: call proxywasm.SetEffectiveContext before touching a stream.
func (t *Ticker) After(d time.Duration, fn func()) ID {
	id := t.At(t.now().Add(d), fn)
	t.sync()
	return id
}

// Cancel unschedules a timer (a stream that ended while paused) and stops the tick when
// nothing else is pending.
func (t *Ticker) Cancel(id ID) bool {
	ok := t.Timers.Cancel(id)
	t.sync()
	return ok
}

// OnTick fires the due timers; call it from the plugin context's OnTick.
func (t *Ticker) OnTick() {
	t.Fire(t.now())
	t.sync()
}

func (t *Ticker) sync() {
	want := t.Len() > 0
	if want == t.ticking {
		return
	}
	period := uint32(0)
	if want {
		r := t.Resolution
		if r <= 0 {
			r = DefaultResolution
		}
		period = uint32(max(r/time.Millisecond, 1))
	}
	if err := proxywasm.SetTickPeriodMilliSeconds(period); err != nil {
		proxywasm.LogCritical("timer: set tick period: " + err.Error())
		return
	}
	t.ticking = want
}
