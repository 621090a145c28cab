// Package dryrun loads a proxy-wasm module under wazero and runs what Envoy runs when it
// (re)configures a plugin — VM start, then plugin start with the plugin configuration — to
// tell before anything reaches Envoy whether the plugin accepts its configuration. It
// implements api.DryRunner for WasmPlugin applies.
//
// It is deliberately small: a proxy-wasm host for the configuration callbacks only. Host calls
// a plugin may make at start (logs, configuration buffer, properties, metrics, ticks, shared
// data) are answered; every other import is satisfied with a call that reports success and
// does nothing. Request-time behaviour is testenv's job.
package dryrun
