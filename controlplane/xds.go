package controlplane

import (
	"context"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
)

// xdsSide is what the xDS part of the control plane contributes: its listen address, a run
// loop, the apply-time checkers that need the translator, and the status source.
type xdsSide struct {
	addr     string
	run      func(ctx context.Context) error
	checkers []crd.Checker
	status   api.StatusSource
}

// startXDS wires controlplane/xds and controlplane/translate.
//
// TODO(D1): those packages are not in the tree yet; until they land the control plane serves
// the API and modules only, and status reports no nodes.
func startXDS(_ context.Context, _ Config, _ *store.Store, _ *dirModules) (*xdsSide, error) {
	return &xdsSide{}, nil
}
