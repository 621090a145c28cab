// Package filtertest holds what the built-in filters' .wasm tests share: finding the compiled
// modules, running each case against both the standalone module and the bundle (picked by
// root_id), checking that a bad configuration refuses the plugin with the parser's message,
// and running the replay files under testenv.
package filtertest
