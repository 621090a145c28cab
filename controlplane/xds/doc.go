// Package xds is the wasmesh xDS server: go-control-plane's snapshot cache and ADS (state of
// the world, gRPC) with one snapshot per node, built by controlplane/translate from the
// latest resources and the node's metadata, plus the bookkeeping the status needs.
//
// Update takes a new resource set (the store calls it after every change, coalesced) and
// pushes a new snapshot to every known node; a node that connects gets its snapshot on its
// first request. Each xDS type has its own content version (a hash of its resources), so a
// change pushes only the types it changes — a filter config change is an ECDS push, never a
// listener change.
//
// Per node and xDS type the server records the last version sent, the last version the
// node acknowledged and the last rejection with its error text (cleared by a later ACK);
// per resource, which nodes' snapshots carry it. Status reports both in the API's terms
// (api.StatusSource), for `wasmesh status` and `wasmesh get`.
//
// With a CA (Config.CA, identity.go) each node's snapshot carries its SDS secrets: a
// certificate for the Service its node id names (issued on its first request, rotated at
// half-life with jitter by a timer per node, pushed as a new secrets version) and the CA
// bundle. Only a stream that proved the node id (Config.Auth) receives them.
package xds
