// Package dryrun implements admission.DryRunner for WasmPlugin applies on testenv, the project's
// model of how stock Envoy 1.40 runs proxy-wasm modules: before anything reaches Envoy, the
// module is loaded as Envoy would load it (testenv.Inspect: every import Envoy lacks is named)
// and started under testenv — VM start, then plugin start with the plugin configuration — so a
// plugin that refuses its configuration, or traps, fails the apply with its own log lines.
//
// A Runner owns its testenv Runtime and hands it the module's bytes. Compiled code is cached per
// module content (the Runtime compiles a module once; wazero's compilation cache on disk
// outlives the process), so applying a new configuration for a known module costs one VM
// instantiation. A dry run is bounded by a time limit: the Runtime is interruptible, and a
// plugin that never returns from a start callback is interrupted (testenv.WithContext).
package dryrun
