// Package apikey is the logic of the example API-key filter: config.go parses the JSON
// configuration strictly (sdk/config), filter.go decides on a request (a pure function,
// table-tested natively), plugin.go wires it to proxy-wasm with sdk.NewPlugin.
//
// Configuration:
//
//	{"header": "x-api-key",
//	 "keys": [{"name": "team-a", "key": "s3cr3t-a"}, {"name": "team-b", "key": "s3cr3t-b"}],
//	 "exempt": {"path": {"prefix": "/healthz"}},
//	 "clientHeader": "x-api-client"}
//
// A request without a valid key gets 401 (no key) or 403 (unknown key) and never reaches the
// upstream. A valid key is removed from the request (the upstream never sees secrets) and the
// key's name is passed upstream in clientHeader.
package apikey
