package sandbox

import (
	"context"
	"errors"
)

// DefaultControlPlane starts the in-process wasmesh control plane.
func DefaultControlPlane(ctx context.Context, t Topology, dataDir, buildDir string) (ControlPlane, error) {
	return nil, errors.New("the in-process control plane is not wired yet (controlplane/xds, controlplane/api)")
}

// RequiredModules are the filter modules (in build/) the sandbox's control plane serves.
var RequiredModules = []string{"wasmesh.wasm"}
