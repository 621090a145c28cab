package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// applyT decodes YAML resources and applies them through the control plane's API.
func applyT(t testing.TB, cp *controlplane.ControlPlane, yaml string) *api.ApplyResponse {
	t.Helper()
	docs, err := crd.Decode("e2e.yaml", []byte(yaml))
	require.NoError(t, err)
	res, err := cp.Client().Apply(context.Background(), docs, false)
	require.NoError(t, err)
	return res
}

// applyAckedT is applyT that then waits (StartTimeout) until every sidecar ACKed the change.
func applyAckedT(t testing.TB, cp *controlplane.ControlPlane, yaml string) {
	t.Helper()
	waitAckedT(t, cp, applyT(t, cp, yaml).Revision)
}

// deleteT deletes a resource of the default namespace and returns the store's revision after it.
func deleteT(t testing.TB, cp *controlplane.ControlPlane, kind crd.Kind, name string) uint64 {
	t.Helper()
	_, err := cp.Client().Delete(context.Background(), crd.Key{Kind: kind, Namespace: crd.DefaultNamespace, Name: name})
	require.NoError(t, err)
	rev, err := cp.Store.Revision()
	require.NoError(t, err)
	return rev
}

// waitAckedT waits (StartTimeout) until every connected sidecar ACKed revision rev.
func waitAckedT(t testing.TB, cp *controlplane.ControlPlane, rev uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	require.NoError(t, cp.XDS.WaitAcked(ctx, rev))
}
