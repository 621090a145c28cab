// Package timer runs callbacks at a time, for streams a filter paused (a fault delay, a
// rate-limit wait). proxy-wasm has no per-stream timers: the root (plugin) context gets a
// periodic tick, and Timers fires whatever is due on each tick. Timers is pure (the caller
// passes the time); Ticker wires it to the host tick, switching the tick on only while a timer
// is pending, so an idle VM costs nothing. No busy waiting anywhere.
package timer
