// Package bundle lets one .wasm module hold several plugins, picked by the plugin's root_id
// (Envoy's `config.root_id`). Several filters of a chain can then share one VM per worker
// (same vm_id) instead of one VM each. An unknown root_id makes the plugin refuse to start
// with a critical log line naming the known ones.
package bundle
