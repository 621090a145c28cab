package xds_test

import (
	"context"
	"errors"
	"testing"
	"time"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds"
	"github.com/wasmesh/wasmesh/controlplane/xds/xdstest"
)

// Issue 10, item 1: an ADS client without a credential, with a forged one or with another
// node's receives nothing, never appears in the status, and cannot disturb the real node.
func TestAuthRefusesStreams(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	real := sidecar("reviews", "v1", 20000)
	rc := dial(t, addr, real, nil)
	waitComplete(t, rc)
	waitAcked(t, srv)
	version := rc.State(resource.ListenerType).Version

	other, err := xds.NewCredentials([]byte("another control plane's key....."))
	require.NoError(t, err)
	impostor := sidecar("reviews", "v1", 30000) // claims the real node id, own addresses
	tests := []struct {
		name, token string
		code        codes.Code
		msg         string
	}{
		{"no credential", "", codes.Unauthenticated, "no authorization metadata"},
		{"not a credential", "secret", codes.Unauthenticated, "not a wasmesh sidecar credential"},
		{"malformed", "wxds1.%%%.x", codes.Unauthenticated, "malformed credential"},
		{"another control plane's", other.Token(real.ID), codes.Unauthenticated, "was not issued by this control plane"},
		{"another node's", testCreds.Token("frontend.v1.0"), codes.PermissionDenied, `the stream's credential is for node "frontend.v1.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Rejecting everything it gets, as the impostor of the report did.
			c, err := xdstest.Dial(addr, tt.token, xdstest.NodeProto(impostor), func(string, []*anypb.Any) error { return errors.New("impostor rejects") })
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = c.Wait(ctx, func(*xdstest.Client) bool { return false })
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.ErrorContains(t, err, tt.msg)
			require.Zero(t, c.Responses(), "the refused client received a response")
		})
	}
	nodes := srv.Nodes()
	require.Len(t, nodes, 1, "refused clients appear in the status")
	require.Equal(t, real.ID, nodes[0].ID)
	require.True(t, nodes[0].Connected)
	for _, ts := range nodes[0].Types {
		require.Empty(t, ts.NACK, "%s", ts.Type)
	}
	require.Equal(t, version, rc.State(resource.ListenerType).Version, "the real node's listeners changed")
	var l listener.Listener
	found := false
	for _, a := range rc.State(resource.ListenerType).Resources {
		require.NoError(t, a.UnmarshalTo(&l))
		if l.Name == translate.ListenerOutbound {
			found = true
			require.Equal(t, "127.0.0.1", l.GetAddress().GetSocketAddress().GetAddress())
			require.EqualValues(t, 20002, l.GetAddress().GetSocketAddress().GetPortValue())
		}
	}
	require.True(t, found)
}

// A stream that proved one node id and names another in a later request is refused: go-
// control-plane would otherwise answer that request from the other node's snapshot.
func TestAuthNodeSwitchMidStream(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	me, victim := sidecar("frontend", "v1", 20000), sidecar("reviews", "v1", 21000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, xds.MetadataKey, "Bearer "+testCreds.Token(me.ID))
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	require.NoError(t, err)
	require.NoError(t, stream.Send(&discovery.DiscoveryRequest{TypeUrl: resource.ClusterType, Node: xdstest.NodeProto(me)}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, resource.ClusterType, resp.TypeUrl)
	require.NoError(t, stream.Send(&discovery.DiscoveryRequest{TypeUrl: resource.ListenerType, Node: xdstest.NodeProto(victim)}))
	_, err = stream.Recv()
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	for _, n := range srv.Nodes() {
		require.NotEqual(t, victim.ID, n.ID)
	}
}

// A credential names exactly one node and survives a round trip; anything else fails.
func TestCredentialsVerify(t *testing.T) {
	for _, id := range []string{"reviews.v1.0", "a", "with.dots.and-dashes.7", "ünïcode"} {
		got, err := testCreds.Verify(testCreds.Token(id))
		require.NoError(t, err)
		require.Equal(t, id, got)
	}
	tok := testCreds.Token("reviews.v1.0")
	for _, bad := range []string{tok[:len(tok)-2], tok + "x", tok[:6] + "cmF0aW5ncy52MS4w" + tok[len("wxds1.cmV2aWV3cy52MS4w"):]} {
		_, err := testCreds.Verify(bad)
		require.ErrorIs(t, err, xds.ErrUnauthenticated, "%q", bad)
	}
	_, err := xds.NewCredentials([]byte("short"))
	require.EqualError(t, err, "xds key: 5 bytes, want at least 16")
}
