package controlplane

import (
	"context"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
)

// xdsSide is what the xDS part of the control plane contributes to Start: its listen address,
// a run loop, the apply-time checkers that need the translator, and the status source.
type xdsSide struct {
	addr     string
	run      func(ctx context.Context) error
	checkers []crd.Checker
	status   api.StatusSource
}

// startXDS wires the translator and the xDS server into the control plane.
//
// The packages it needs (controlplane/translate, controlplane/xds) are not in the tree yet;
// until they land the control plane serves the API and the modules only, XDSAddr stays empty
// and status reports no nodes. The wiring, once they exist, is:
//
//   - bind cfg.XDSAddress, serve ADS; run = the server's Serve loop;
//   - st.Watch(ctx, func(set, rev) { snapshots := translate(set, builtin module sha256s); push })
//     — the store calls back with the current state, then after every change (coalesced);
//   - checkers = FilterChecker(<translator's per-filter config generation>, {router, canary,
//     fault, telemetry ParseConfig}) so a config a filter would refuse never reaches Envoy;
//   - status = an api.StatusSource over the server's per-node ACK/NACK bookkeeping: Nodes()
//     (id, service/version from node metadata, per xDS type: last ACKed and last sent
//     version, pending, last NACK error and version) and ResourceNodes(key, generation) (the
//     nodes whose current snapshot was built from the resource, acked/pending/nacked).
func startXDS(_ context.Context, _ Config, _ *store.Store, _ *dirModules) (*xdsSide, error) {
	return &xdsSide{}, nil
}
