package xdstest

import (
	"context"
	"net"
	"testing"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// refusingADS ends every stream at once with Unauthenticated, as the control plane does for
// a bad credential, without reading a request.
type refusingADS struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
}

func (refusingADS) StreamAggregatedResources(discovery.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	return status.Error(codes.Unauthenticated, "unauthenticated: malformed credential")
}

// A server that refuses a stream before the client's subscriptions are sent makes Send
// return io.EOF; the refusal's status must still reach Wait (CI once saw "ads stream: EOF"
// from Dial instead of the Unauthenticated status).
func TestDialSeesRefusalBeforeSubscribing(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(srv, refusingADS{})
	go srv.Serve(lis)
	defer srv.Stop()

	// Hold the subscriptions until the refusal has arrived: Header returns once the
	// server's trailers-only answer is in, after which every Send reports io.EOF.
	afterOpen = func(s discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient) { _, _ = s.Header() }
	defer func() { afterOpen = nil }()

	c, err := Dial(lis.Addr().String(), "", nil, nil)
	if err != nil {
		t.Fatalf("Dial: %v (want the refusal reported by Wait)", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Wait(ctx, func(*Client) bool { return false })
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Wait: %v, want code Unauthenticated", err)
	}
}
