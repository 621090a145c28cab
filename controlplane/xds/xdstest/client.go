// Package xdstest is a small in-process ADS client that behaves like an Envoy sidecar on the
// wire: it subscribes to clusters and listeners, follows them to the endpoints, route
// configurations and ECDS filter configs they name, and ACKs each response — or NACKs it
// when Reject says so. Tests and benchmarks of the xDS server use it over loopback gRPC.
package xdstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// Types returns the xDS type URLs the client subscribes to, in subscription order.
func Types() []string {
	return []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType, resource.ExtensionConfigType}
}

// Client is one simulated sidecar on one ADS stream.
type Client struct {
	// Reject, when set, is asked about every response; a non-nil error NACKs it with the
	// error's text as the error detail.
	Reject func(typeURL string, resources []*anypb.Any) error

	conn   *grpc.ClientConn
	stream discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	err       error
	sendMu    sync.Mutex
	outbox    []*discovery.DiscoveryRequest // requests the send loop has yet to send
	wake      chan struct{}
	subs      map[string]*sub
	changed   chan struct{}
	responses int
	// sds holds, per type URL of the referencing resources (clusters, listeners), the SDS
	// secret names they reference: the client subscribes to their union, as Envoy does.
	sds map[string][]string
}

type sub struct {
	names     []string // nil: wildcard
	version   string   // last accepted
	nonce     string   // last received
	resources []*anypb.Any
	nacked    string // error sent with the last NACK ("" after an ACK)
}

// NodeProto returns the Envoy node of a sidecar with the wasmesh metadata keys.
func NodeProto(n translate.Node) *core.Node {
	md, _ := structpb.NewStruct(map[string]any{
		translate.MetaService: n.Service, translate.MetaVersion: n.Version,
		translate.MetaAppAddress: n.AppAddress, translate.MetaInboundAddress: n.InboundAddress,
		translate.MetaOutboundAddress: n.OutboundAddress,
	})
	return &core.Node{Id: n.ID, Cluster: n.Service, Metadata: md}
}

// Dial connects to the ADS server at addr as the node and subscribes, sending token (the
// node's xDS credential; "" sends none) as Envoy's bootstrap does. Close ends it.
func Dial(addr, token string, node *core.Node, reject func(typeURL string, resources []*anypb.Any) error) (*Client, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		cancel()
		conn.Close()
		return nil, fmt.Errorf("ads stream: %w", err)
	}
	if afterOpen != nil {
		afterOpen(stream)
	}
	c := &Client{Reject: reject, conn: conn, stream: stream, cancel: cancel, done: make(chan struct{}),
		subs: map[string]*sub{}, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
	c.subs[resource.ClusterType] = &sub{}
	c.subs[resource.ListenerType] = &sub{}
	first := true
	for _, t := range []string{resource.ClusterType, resource.ListenerType} {
		req := &discovery.DiscoveryRequest{TypeUrl: t}
		if first {
			req.Node, first = node, false
		}
		if err := c.send(req); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server ended the stream already: the receive loop reads why
			}
			cancel()
			conn.Close()
			return nil, fmt.Errorf("ads stream: %w", err)
		}
	}
	go c.recv()
	go c.sendLoop(ctx)
	return c, nil
}

// afterOpen, when set by a test, runs between opening the stream and subscribing.
var afterOpen func(discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient)

// enqueue hands a request to the send loop. Like Envoy, the client never blocks its
// receiving on sending: with both sides' flow-control windows full, a client that sends
// from its receive loop and a server that sends from its request loop would wait on each
// other.
func (c *Client) enqueue(reqs ...*discovery.DiscoveryRequest) {
	c.mu.Lock()
	c.outbox = append(c.outbox, reqs...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Client) sendLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		c.mu.Lock()
		reqs := c.outbox
		c.outbox = nil
		c.mu.Unlock()
		for _, r := range reqs {
			if err := c.send(r); err != nil {
				if errors.Is(err, io.EOF) {
					return // the server ended the stream: the receive loop records its status
				}
				c.mu.Lock()
				if c.err == nil {
					c.err = err
				}
				c.notifyLocked()
				c.mu.Unlock()
				return
			}
		}
	}
}

func (c *Client) send(req *discovery.DiscoveryRequest) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.stream.Send(req)
}

func (c *Client) recv() {
	defer close(c.done)
	for {
		resp, err := c.stream.Recv()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.notifyLocked()
			c.mu.Unlock()
			return
		}
		if err := c.handle(resp); err != nil {
			c.mu.Lock()
			c.err = err
			c.notifyLocked()
			c.mu.Unlock()
			return
		}
	}
}

func (c *Client) handle(resp *discovery.DiscoveryResponse) error {
	var reject error
	if c.Reject != nil {
		reject = c.Reject(resp.TypeUrl, resp.Resources)
	}
	c.mu.Lock()
	s := c.subs[resp.TypeUrl]
	if s == nil {
		c.mu.Unlock()
		return fmt.Errorf("unexpected response of type %s", resp.TypeUrl)
	}
	s.nonce = resp.Nonce
	c.responses++
	req := &discovery.DiscoveryRequest{TypeUrl: resp.TypeUrl, ResourceNames: s.names, ResponseNonce: resp.Nonce}
	var follow []*discovery.DiscoveryRequest
	if reject != nil {
		s.nacked = reject.Error()
		req.VersionInfo = s.version
		req.ErrorDetail = &status.Status{Code: 3, Message: reject.Error()}
	} else {
		s.version, s.resources, s.nacked = resp.VersionInfo, resp.Resources, ""
		req.VersionInfo = resp.VersionInfo
		var err error
		if follow, err = c.followLocked(resp); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.notifyLocked()
	c.mu.Unlock()
	// As Envoy does: subscribe to what the update names, then ACK it.
	c.enqueue(append(follow, req)...)
	return nil
}

// followLocked returns the subscription changes an accepted update of clusters or listeners
// implies: the EDS clusters' endpoints, the listeners' route configurations and ECDS names.
func (c *Client) followLocked(resp *discovery.DiscoveryResponse) ([]*discovery.DiscoveryRequest, error) {
	want := map[string][]string{}
	var secrets []string
	switch resp.TypeUrl {
	case resource.ClusterType:
		var eds []string
		for _, a := range resp.Resources {
			var cl cluster.Cluster
			if err := a.UnmarshalTo(&cl); err != nil {
				return nil, fmt.Errorf("cluster: %w", err)
			}
			if cl.GetType() == cluster.Cluster_EDS {
				eds = append(eds, cl.Name)
			}
			secrets = append(secrets, sdsNames(cl.GetTransportSocket())...)
		}
		want[resource.EndpointType] = eds
	case resource.ListenerType:
		var rds, ecds []string
		for _, a := range resp.Resources {
			var l listener.Listener
			if err := a.UnmarshalTo(&l); err != nil {
				return nil, fmt.Errorf("listener: %w", err)
			}
			for _, fc := range l.FilterChains {
				secrets = append(secrets, sdsNames(fc.GetTransportSocket())...)
				for _, f := range fc.Filters {
					var h hcm.HttpConnectionManager
					if f.GetTypedConfig().UnmarshalTo(&h) != nil {
						continue
					}
					if r := h.GetRds(); r != nil {
						rds = append(rds, r.RouteConfigName)
					}
					for _, hf := range h.HttpFilters {
						if hf.GetConfigDiscovery() != nil {
							ecds = append(ecds, hf.Name)
						}
					}
				}
			}
		}
		want[resource.RouteType] = rds
		want[resource.ExtensionConfigType] = ecds
	}
	if resp.TypeUrl == resource.ClusterType || resp.TypeUrl == resource.ListenerType {
		if c.sds == nil {
			c.sds = map[string][]string{}
		}
		c.sds[resp.TypeUrl] = secrets
		var all []string
		for _, names := range c.sds {
			all = append(all, names...)
		}
		if len(all) > 0 || c.subs[resource.SecretType] != nil {
			want[resource.SecretType] = all
		}
	}
	var out []*discovery.DiscoveryRequest
	for _, t := range slices.Sorted(maps.Keys(want)) {
		names := slices.Compact(slices.Sorted(slices.Values(want[t])))
		s := c.subs[t]
		if s == nil {
			if len(names) == 0 {
				continue
			}
			s = &sub{}
			c.subs[t] = s
		} else if slices.Equal(s.names, names) {
			continue
		}
		s.names = names
		if names == nil {
			s.names = []string{}
		}
		out = append(out, &discovery.DiscoveryRequest{TypeUrl: t, ResourceNames: s.names, VersionInfo: s.version, ResponseNonce: s.nonce})
	}
	return out, nil
}

// sdsNames returns the SDS secrets a TLS transport socket references.
func sdsNames(ts *core.TransportSocket) []string {
	if ts == nil || ts.GetTypedConfig() == nil {
		return nil
	}
	var common *tlsv3.CommonTlsContext
	var up tlsv3.UpstreamTlsContext
	var down tlsv3.DownstreamTlsContext
	switch {
	case ts.GetTypedConfig().MessageIs(&up) && ts.GetTypedConfig().UnmarshalTo(&up) == nil:
		common = up.GetCommonTlsContext()
	case ts.GetTypedConfig().MessageIs(&down) && ts.GetTypedConfig().UnmarshalTo(&down) == nil:
		common = down.GetCommonTlsContext()
	default:
		return nil
	}
	var out []string
	for _, s := range common.GetTlsCertificateSdsSecretConfigs() {
		out = append(out, s.GetName())
	}
	if v := common.GetValidationContextSdsSecretConfig(); v != nil {
		out = append(out, v.GetName())
	}
	if v := common.GetCombinedValidationContext().GetValidationContextSdsSecretConfig(); v != nil {
		out = append(out, v.GetName())
	}
	return out
}

func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// State is what the client holds for one type.
type State struct {
	Version   string // last accepted
	Names     []string
	Resources []*anypb.Any
	NACK      string // the error of the last response when it was rejected
}

// State returns the client's state for a type URL.
func (c *Client) State(typeURL string) State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.subs[typeURL]
	if s == nil {
		return State{}
	}
	return State{Version: s.version, Names: slices.Clone(s.names), Resources: slices.Clone(s.resources), NACK: s.nacked}
}

// Responses returns how many responses the client received.
func (c *Client) Responses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.responses
}

// Wait blocks until cond holds (checked after every response), the stream fails or ctx
// ends.
func (c *Client) Wait(ctx context.Context, cond func(*Client) bool) error {
	for {
		if cond(c) {
			return nil
		}
		c.mu.Lock()
		ch, err := c.changed, c.err
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("ads stream: %w", err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("condition not met after %d responses", c.Responses()))
		case <-ch:
		}
	}
}

// Close ends the stream and the connection.
func (c *Client) Close() error {
	c.cancel()
	err := c.conn.Close()
	<-c.done
	return err
}
