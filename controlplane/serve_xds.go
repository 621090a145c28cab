package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds"
)

// xdsSide is what the xDS part of the control plane contributes to Start: its listen address,
// a run loop and the status source.
type xdsSide struct {
	addr   string
	run    func(ctx context.Context) error
	status api.StatusSource
	server *xds.Server
	// close releases the listener when run never ran.
	close func() error
}

// startXDS binds the ADS listener and wires the translator (with opts) and the xDS server
// into the control plane:
//
//   - the server starts from the store's current state, then run keeps it current:
//     st.Watch calls back after every change (coalesced) and each call translates the
//     resources and pushes every node its snapshot;
//   - status = the server's per-node, per-type and per-resource ACK/NACK bookkeeping.
//
// auth checks every ADS stream's credential.
func startXDS(cfg Config, opts translate.Options, st *store.Store, auth xds.Authenticator, authority *ca.CA) (*xdsSide, error) {
	srv := xds.New(xds.Config{
		Options: opts,
		Log:     cfg.Log,
		Auth:    auth,
		CA:      authority,
	})
	set, rev, err := st.List()
	if err != nil {
		return nil, err
	}
	srv.Update(set, rev)
	ln, err := net.Listen("tcp", cfg.XDSAddress)
	if err != nil {
		return nil, fmt.Errorf("xds: %w", err)
	}
	run := func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()
		werr := st.Watch(ctx, srv.Update)
		cancel()
		serr := <-served
		if errors.Is(werr, context.Canceled) {
			werr = nil
		}
		return errors.Join(werr, serr)
	}
	return &xdsSide{
		addr:   ln.Addr().String(),
		run:    run,
		status: srv,
		server: srv,
		close:  closeListener(ln),
	}, nil
}
