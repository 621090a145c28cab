package apikey

import "github.com/wasmesh/wasmesh/sdk"

// NewPluginContext creates the plugin context: sdk.NewPlugin parses the configuration at
// plugin start (a bad one refuses the plugin with a critical log line naming the JSON path)
// and runs Filter.OnRequest on every request.
var NewPluginContext = sdk.NewPlugin("apikey", Parse)
