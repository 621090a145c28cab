package xds_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds"
	"github.com/wasmesh/wasmesh/controlplane/xds/xdstest"
)

const bundleSHA = "b000000000000000000000000000000000000000000000000000000000000001"

// testCreds mint the test sidecars' credentials; the key is fixed so the benchmarks' helper
// processes mint the same ones.
var testCreds = func() *xds.Credentials {
	c, err := xds.NewCredentials([]byte("wasmesh xds test key, not secret"))
	if err != nil {
		panic(err)
	}
	return c
}()

func startServer(t testing.TB, opts ...func(*xds.Config)) (*xds.Server, string) {
	t.Helper()
	cfg := xds.Config{Options: translate.Options{
		ModulesURL: "http://127.0.0.1:18001",
		Builtins:   map[string]string{translate.BundleFile: bundleSHA},
	}, Auth: testCreds}
	for _, o := range opts {
		o(&cfg)
	}
	srv := xds.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return srv, ln.Addr().String()
}

// mesh returns the resources: frontend and reviews (v1, v2) with a 90/10 split on reviews,
// plus the extra objects.
func mesh(t testing.TB, v1, v2 int, extra ...crd.Object) *crd.Set {
	t.Helper()
	objs := []crd.Object{
		&crd.Service{Metadata: crd.ObjectMeta{Name: "frontend", Generation: 1}, Spec: crd.ServiceSpec{Port: 9080,
			Versions: []crd.ServiceVersion{{Name: "v1", Endpoints: []string{"127.0.0.1:15100"}}}}},
		&crd.Service{Metadata: crd.ObjectMeta{Name: "reviews", Generation: 1}, Spec: crd.ServiceSpec{Port: 9080,
			Versions: []crd.ServiceVersion{{Name: "v1", Endpoints: []string{"127.0.0.1:15101"}}, {Name: "v2", Endpoints: []string{"127.0.0.1:15102"}}}}},
		&crd.TrafficRoute{Metadata: crd.ObjectMeta{Name: "reviews", Generation: int64(v2 + 1)}, Spec: crd.TrafficRouteSpec{Service: "reviews",
			Split: &crd.Split{Weights: map[string]int{"v1": v1, "v2": v2}}}},
	}
	for _, o := range append(objs, extra...) {
		require.Empty(t, crd.Validate(o), "%s", crd.KeyOf(o))
	}
	return crd.NewSet(append(objs, extra...)...)
}

func plugin(name, service string, gen int64) *crd.WasmPlugin {
	p := &crd.WasmPlugin{Metadata: crd.ObjectMeta{Name: name, Generation: gen}, Spec: crd.WasmPluginSpec{
		Module: crd.Module{SHA256: strings.Repeat("c", 64)},
	}}
	if service != "" {
		p.Spec.Selector.Services = []string{service}
	}
	return p
}

func sidecar(service, version string, port int) translate.Node {
	return translate.Node{
		ID: fmt.Sprintf("%s.%s.0", service, version), Service: service, Version: version,
		AppAddress:      fmt.Sprintf("127.0.0.1:%d", port),
		InboundAddress:  fmt.Sprintf("127.0.0.1:%d", port+1),
		OutboundAddress: fmt.Sprintf("127.0.0.1:%d", port+2),
	}
}

func dial(t testing.TB, addr string, n translate.Node, reject func(string, []*anypb.Any) error) *xdstest.Client {
	t.Helper()
	c, err := xdstest.Dial(addr, testCreds.Token(n.ID), xdstest.NodeProto(n), reject)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func waitAcked(t testing.TB, srv *xds.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.WaitAcked(ctx, 0))
}

// waitFor waits until every node the client holds has all five types.
func waitComplete(t testing.TB, c *xdstest.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, xdstest.Complete))
}

func ecdsConfig(t testing.TB, c *xdstest.Client, name string) string {
	t.Helper()
	for _, a := range c.State(resource.ExtensionConfigType).Resources {
		var tec core.TypedExtensionConfig
		require.NoError(t, a.UnmarshalTo(&tec))
		if tec.Name != name {
			continue
		}
		var w wasmfilter.Wasm
		require.NoError(t, tec.TypedConfig.UnmarshalTo(&w))
		var s wrapperspb.StringValue
		require.NoError(t, w.Config.Configuration.UnmarshalTo(&s))
		return s.Value
	}
	return ""
}

func listenerAddrs(t testing.TB, c *xdstest.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range c.State(resource.ListenerType).Resources {
		var l listener.Listener
		require.NoError(t, a.UnmarshalTo(&l))
		sa := l.Address.GetSocketAddress()
		out[l.Name] = fmt.Sprintf("%s:%d", sa.Address, sa.GetPortValue())
	}
	return out
}

// Each node gets its own snapshot: its listeners from its metadata, the plugins its Service
// is selected for, and the shared clusters, routes and filter configs.
func TestSnapshotPerNode(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10, plugin("auth", "reviews", 1)), 1)
	fe, rv := sidecar("frontend", "v1", 20000), sidecar("reviews", "v1", 20010)
	cf, cr := dial(t, addr, fe, nil), dial(t, addr, rv, nil)
	waitComplete(t, cf)
	waitComplete(t, cr)
	waitAcked(t, srv)

	require.Equal(t, map[string]string{"inbound": fe.InboundAddress, "outbound": fe.OutboundAddress}, listenerAddrs(t, cf))
	require.Equal(t, map[string]string{"inbound": rv.InboundAddress, "outbound": rv.OutboundAddress}, listenerAddrs(t, cr))
	// No AuthorizationPolicy: no node runs (or pays for) the authz filter.
	names := []string{"wasmesh.chain"}
	for _, phase := range []string{crd.PhaseAfter, crd.PhaseBefore} {
		for i := range translate.PluginSlots {
			names = append(names, translate.SlotName(phase, i))
		}
	}
	// Same ECDS names on every node (its listener names slots, never plugins); only reviews
	// has the plugin in its first "after" slot.
	require.Equal(t, names, cf.State(resource.ExtensionConfigType).Names)
	require.Equal(t, names, cr.State(resource.ExtensionConfigType).Names)
	require.Equal(t, "", slotPlugin(t, cf, "wasmesh.slot.after.0"))
	require.Equal(t, "wasmesh.plugin.auth", slotPlugin(t, cr, "wasmesh.slot.after.0"))
	require.Equal(t, "", slotPlugin(t, cr, "wasmesh.slot.after.1"))
	require.Equal(t, []string{"frontend|v1|endpoints", "reviews|v1|endpoints", "reviews|v2|endpoints"}, cf.State(resource.EndpointType).Names)
	require.JSONEq(t, `{"services":{"frontend":{},"reviews":{"weights":{"v1":90,"v2":10}}}}`, xdstest.StageConfig(ecdsConfig(t, cf, "wasmesh.chain"), "canary"))

	nodes := srv.Nodes()
	require.Len(t, nodes, 2)
	for _, n := range nodes {
		require.True(t, n.Connected, n.ID)
		require.EqualValues(t, 1, n.Revision, n.ID)
		require.Len(t, n.Types, 5, n.ID)
		for _, ts := range n.Types {
			require.Equal(t, ts.Sent, ts.Acked, "%s %s", n.ID, ts.Type)
			require.False(t, ts.Pending)
			require.Empty(t, ts.NACK)
		}
	}
	require.Equal(t, []crd.NodeStatus{{Node: "reviews.v1.0", State: crd.Acked, Version: "1"}},
		srv.ResourceNodes(crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "auth"}, 1))
	require.Equal(t, []crd.NodeStatus{{Node: "frontend.v1.0", State: crd.Acked, Version: "1"}, {Node: "reviews.v1.0", State: crd.Acked, Version: "1"}},
		srv.ResourceNodes(crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}, 11))
	// A generation the snapshots were not built from yet is pending.
	require.Equal(t, crd.Pending, srv.ResourceNodes(crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}, 12)[0].State)
	require.Nil(t, srv.ResourceNodes(crd.Key{Kind: crd.KindService, Namespace: "default", Name: "nope"}, 1))
}

// versions returns the client's accepted version of each xDS type.
func versions(c *xdstest.Client) map[string]string {
	out := map[string]string{}
	for _, typ := range xdstest.Types() {
		out[typ] = c.State(typ).Version
	}
	return out
}

// A new split is an ECDS push only: the other types keep their versions, and the client
// receives nothing else.
func TestUpdatePushesOnlyWhatChanged(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	c := dial(t, addr, sidecar("frontend", "v1", 20000), nil)
	waitComplete(t, c)
	waitAcked(t, srv)
	before := versions(c)
	responses := c.Responses()

	srv.Update(mesh(t, 0, 100), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, func(c *xdstest.Client) bool {
		return c.State(resource.ExtensionConfigType).Version != before[resource.ExtensionConfigType]
	}))
	waitAcked(t, srv)
	require.JSONEq(t, `{"services":{"frontend":{},"reviews":{"weights":{"v1":0,"v2":100}}}}`, xdstest.StageConfig(ecdsConfig(t, c, "wasmesh.chain"), "canary"))
	for _, typ := range []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType} {
		require.Equal(t, before[typ], c.State(typ).Version, typ)
	}
	require.Equal(t, responses+1, c.Responses())
}

// A change to a Service's clusters only (its trafficPolicy) sends EDS again, with the same
// endpoints, after CDS: Envoy rebuilds the changed clusters and they wait for their endpoints
// (otherwise until the initial fetch timeout, 15 s without endpoints).
func TestClusterChangeResendsEndpoints(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	c := dial(t, addr, sidecar("frontend", "v1", 20000), nil)
	waitComplete(t, c)
	waitAcked(t, srv)
	before := versions(c)
	endpoints := c.State(resource.EndpointType).Resources
	responses := c.Responses()

	set := mesh(t, 90, 10)
	set.Services[1].Spec.TrafficPolicy = &crd.TrafficPolicy{OutlierDetection: &crd.OutlierDetection{Consecutive5xx: new(uint32(3))}}
	srv.Update(set, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, func(c *xdstest.Client) bool {
		return c.State(resource.EndpointType).Version != before[resource.EndpointType] &&
			c.State(resource.ClusterType).Version != before[resource.ClusterType]
	}))
	waitAcked(t, srv)
	require.Equal(t, responses+2, c.Responses(), "CDS and EDS, nothing else")
	require.Equal(t, len(endpoints), len(c.State(resource.EndpointType).Resources))
	for _, e := range endpoints { // the same endpoints (in the order the cache sends them)
		require.True(t, slices.ContainsFunc(c.State(resource.EndpointType).Resources, func(x *anypb.Any) bool { return proto.Equal(e, x) }), "endpoints unchanged")
	}
}

// A rejected update is a NACK with the node's error text, per node, type and resource; the
// node keeps running its last accepted version; the first refusal counts once its retry is
// refused too; a later accepted update clears it.
func TestNACKBookkeeping(t *testing.T) {
	srv, addr := startServer(t, func(c *xds.Config) { c.RetryBase, c.RetryMax = 10*time.Millisecond, 10*time.Millisecond })
	srv.Update(mesh(t, 90, 10), 1)
	reject := func(typeURL string, res []*anypb.Any) error {
		if typeURL != resource.ExtensionConfigType {
			return nil
		}
		if hasPlugin(res, "wasmesh.plugin.broken") {
			return errors.New("Unable to create Wasm plugin wasmesh.plugin.broken")
		}
		return nil
	}
	fe, rv := sidecar("frontend", "v1", 20000), sidecar("reviews", "v1", 20010)
	cf, cr := dial(t, addr, fe, reject), dial(t, addr, rv, reject)
	waitComplete(t, cf)
	waitComplete(t, cr)
	waitAcked(t, srv)
	good := cf.State(resource.ExtensionConfigType).Version

	broken := plugin("broken", "frontend", 1)
	srv.Update(mesh(t, 90, 10, broken), 2)
	key := crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "broken"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ns := srv.ResourceNodes(key, 1)
		if len(ns) == 1 && ns[0].State == crd.NACKed {
			break
		}
		if len(ns) == 1 && ns[0].State == crd.Pending && ns[0].Error != "" {
			require.Equal(t, "extension_configs: refused once, retrying: Unable to create Wasm plugin wasmesh.plugin.broken", ns[0].Error)
		}
		select {
		case <-srv.Changed():
		case <-ctx.Done():
			t.Fatalf("never nacked: %+v", ns)
		}
	}
	waitAcked(t, srv)
	require.Equal(t, "Unable to create Wasm plugin wasmesh.plugin.broken", cf.State(resource.ExtensionConfigType).NACK)
	require.Equal(t, good, cf.State(resource.ExtensionConfigType).Version, "the node keeps its accepted config")

	var fn api.SidecarStatus
	for _, n := range srv.Nodes() {
		if n.ID == fe.ID {
			fn = n
		}
	}
	var ecds api.TypeStatus
	for _, ts := range fn.Types {
		if ts.Type == translate.TypeExtensionConfigs {
			ecds = ts
		}
	}
	require.Equal(t, "Unable to create Wasm plugin wasmesh.plugin.broken", ecds.NACK)
	require.Equal(t, ecds.Sent[:16], ecds.NACKVersion[:16], "the same content, re-pushed")
	require.Equal(t, good, ecds.Acked)

	require.Equal(t, []crd.NodeStatus{{Node: fe.ID, State: crd.NACKed, Version: "2",
		Error: "extension_configs: Unable to create Wasm plugin wasmesh.plugin.broken"}}, srv.ResourceNodes(key, 1))
	// The reviews sidecar does not get the plugin and ACKed everything.
	for _, ns := range srv.ResourceNodes(crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"}, 1) {
		if ns.Node == rv.ID {
			require.Equal(t, crd.Acked, ns.State)
		}
	}

	// Removing the plugin: accepted, the NACK is gone.
	srv.Update(mesh(t, 90, 10), 3)
	waitAcked(t, srv)
	for _, n := range srv.Nodes() {
		for _, ts := range n.Types {
			require.Empty(t, ts.NACK, "%s %s", n.ID, ts.Type)
		}
	}
	require.Equal(t, good, cf.State(resource.ExtensionConfigType).Version)
}

// A node that reconnects gets the latest snapshot, including changes made while it was
// away; status shows it disconnected meanwhile.
func TestReconnect(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	n := sidecar("frontend", "v1", 20000)
	c := dial(t, addr, n, nil)
	waitComplete(t, c)
	waitAcked(t, srv)
	require.NoError(t, c.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for srv.Nodes()[0].Connected {
		select {
		case <-srv.Changed():
		case <-ctx.Done():
			t.Fatal("the node never showed as disconnected")
		}
	}
	require.Nil(t, srv.ResourceNodes(crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"}, 1))

	srv.Update(mesh(t, 50, 50), 2)
	c2 := dial(t, addr, n, nil)
	waitComplete(t, c2)
	waitAcked(t, srv)
	require.JSONEq(t, `{"services":{"frontend":{},"reviews":{"weights":{"v1":50,"v2":50}}}}`, xdstest.StageConfig(ecdsConfig(t, c2, "wasmesh.chain"), "canary"))
	nodes := srv.Nodes()
	require.Len(t, nodes, 1)
	require.True(t, nodes[0].Connected)
	require.EqualValues(t, 2, nodes[0].Revision)
}

// A node whose metadata cannot be translated gets no snapshot, and its status says why.
func TestNodeError(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	n := sidecar("frontend", "v1", 20000)
	n.OutboundAddress = "localhost:15001"
	_ = dial(t, addr, n, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(srv.Nodes()) == 0 {
		select {
		case <-srv.Changed():
		case <-ctx.Done():
			t.Fatal("the node never showed up")
		}
	}
	require.Equal(t, `node frontend.v1.0: metadata outbound_address: "localhost:15001": a listener binds an IP address, not a name`, srv.Nodes()[0].Error)
}

// A rejected version is not sent again at once (go-control-plane alone would answer the NACK
// with the same version, in a loop) but retried with backoff, so a transient rejection — Envoy
// refusing a Wasm filter whose module it is still fetching — heals by itself.
func TestNACKRetry(t *testing.T) {
	srv, addr := startServer(t, func(c *xds.Config) { c.RetryBase, c.RetryMax = 20*time.Millisecond, 40*time.Millisecond })
	srv.Update(mesh(t, 90, 10), 1)
	var mu sync.Mutex
	rejections := 0
	transient := func(typeURL string, res []*anypb.Any) error {
		if typeURL != resource.ExtensionConfigType || !hasPlugin(res, "wasmesh.plugin.late") {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if rejections < 3 {
			rejections++
			return errors.New("Unable to create Wasm HTTP filter wasmesh.plugin.late")
		}
		return nil
	}
	c := dial(t, addr, sidecar("frontend", "v1", 20000), transient)
	waitComplete(t, c)
	waitAcked(t, srv)
	before := c.Responses()

	srv.Update(mesh(t, 90, 10, plugin("late", "", 1)), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, func(c *xdstest.Client) bool {
		return hasPlugin(c.State(resource.ExtensionConfigType).Resources, "wasmesh.plugin.late") && ecdsConfig(t, c, "wasmesh.slot.after.0") == "" &&
			c.State(resource.ExtensionConfigType).NACK == "" && strings.Contains(c.State(resource.ExtensionConfigType).Version, "+retry3")
	}))
	waitAcked(t, srv)
	key := crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "late"}
	require.Equal(t, crd.Acked, srv.ResourceNodes(key, 1)[0].State)
	for _, n := range srv.Nodes() {
		for _, ts := range n.Types {
			require.Empty(t, ts.NACK, ts.Type)
		}
	}
	// LDS, then ECDS: once rejected and retried three times; nothing in a loop.
	time.Sleep(100 * time.Millisecond)
	require.LessOrEqual(t, c.Responses()-before, 6)
}

// A node disconnected for longer than ForgetAfter leaves the status (and the cache).
func TestForgetDisconnected(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, addr := startServer(t, func(c *xds.Config) { c.Now, c.ForgetAfter = clock, time.Minute })
	srv.Update(mesh(t, 90, 10), 1)
	c := dial(t, addr, sidecar("frontend", "v1", 20000), nil)
	waitComplete(t, c)
	require.NoError(t, c.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for srv.Nodes()[0].Connected {
		select {
		case <-srv.Changed():
		case <-ctx.Done():
			t.Fatal("the node never showed as disconnected")
		}
	}
	srv.Update(mesh(t, 80, 20), 2)
	require.Len(t, srv.Nodes(), 1, "kept for a while")
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	srv.Update(mesh(t, 70, 30), 3)
	require.Empty(t, srv.Nodes())
}

// Resources the translator refuses (validation keeps them out of the store) leave every node
// on its configuration, with the reason in its status.
func TestUntranslatableKeepsSnapshots(t *testing.T) {
	srv, addr := startServer(t)
	srv.Update(mesh(t, 90, 10), 1)
	c := dial(t, addr, sidecar("frontend", "v1", 20000), nil)
	waitComplete(t, c)
	waitAcked(t, srv)
	before := c.State(resource.ClusterType).Version

	dup := &crd.Service{Metadata: crd.ObjectMeta{Name: "reviews", Namespace: "books", Generation: 1}, Spec: crd.ServiceSpec{Port: 9080,
		Versions: []crd.ServiceVersion{{Name: "v1", Endpoints: []string{"127.0.0.1:15109"}}}}}
	srv.Update(mesh(t, 90, 10, dup), 2)
	nodes := srv.Nodes()
	require.Len(t, nodes, 1)
	require.Equal(t, `revision 2: Service "reviews": metadata.name: a Service named "reviews" already exists in namespace "books" (service names are mesh-wide)`, nodes[0].Error)
	require.EqualValues(t, 1, nodes[0].Revision)
	require.Equal(t, before, c.State(resource.ClusterType).Version)

	srv.Update(mesh(t, 90, 10), 3)
	waitAcked(t, srv)
	require.Empty(t, srv.Nodes()[0].Error)
}

// A resource is observed at the generation of the latest set the server translated: not
// before its first translation, not at a generation whose set could not be translated, and
// gone with the resource.
func TestObservedGeneration(t *testing.T) {
	srv, _ := startServer(t)
	route := crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}
	require.Zero(t, srv.ObservedGeneration(route), "nothing translated yet")

	srv.Update(mesh(t, 90, 10), 1) // the route at generation 11
	require.EqualValues(t, 11, srv.ObservedGeneration(route))
	srv.Update(mesh(t, 80, 20), 2)
	require.EqualValues(t, 21, srv.ObservedGeneration(route))

	dup := &crd.Service{Metadata: crd.ObjectMeta{Name: "reviews", Namespace: "books", Generation: 1}, Spec: crd.ServiceSpec{Port: 9080,
		Versions: []crd.ServiceVersion{{Name: "v1", Endpoints: []string{"127.0.0.1:15109"}}}}}
	srv.Update(mesh(t, 70, 30, dup), 3) // untranslatable: the nodes keep generation 21
	require.EqualValues(t, 21, srv.ObservedGeneration(route))
	require.Zero(t, srv.ObservedGeneration(crd.KeyOf(dup)))

	var services []crd.Object
	for _, svc := range mesh(t, 90, 10).Services {
		services = append(services, svc)
	}
	srv.Update(crd.NewSet(services...), 4) // the route deleted
	require.Zero(t, srv.ObservedGeneration(route))
}

// A refusal followed by an accepted re-push never shows as crd.NACKed: while the re-push is on
// its way the node has not answered it yet (apply --wait must not stop there).
func TestNACKRetryInFlightIsPending(t *testing.T) {
	srv, addr := startServer(t, func(c *xds.Config) { c.RetryBase, c.RetryMax = 20*time.Millisecond, 40*time.Millisecond })
	srv.Update(mesh(t, 90, 10), 1)
	var mu sync.Mutex
	rejected := false
	once := func(typeURL string, res []*anypb.Any) error {
		if typeURL != resource.ExtensionConfigType || !hasPlugin(res, "wasmesh.plugin.late") {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if !rejected {
			rejected = true
			return errors.New("Unable to create Wasm plugin wasmesh.plugin.late")
		}
		return nil
	}
	c := dial(t, addr, sidecar("frontend", "v1", 20000), once)
	waitComplete(t, c)
	waitAcked(t, srv)

	key := crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "late"}
	srv.Update(mesh(t, 90, 10, plugin("late", "", 1)), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var states []crd.AckState
	for {
		changed := srv.Changed()
		ns := srv.ResourceNodes(key, 1)
		if len(ns) == 1 {
			if len(states) == 0 || states[len(states)-1] != ns[0].State {
				states = append(states, ns[0].State)
			}
			if ns[0].State == crd.Acked {
				break
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("never acked: %v", states)
		}
	}
	require.NotContains(t, states, crd.NACKed)
	require.Equal(t, crd.Acked, states[len(states)-1])
}

// slotPlugin returns the name of the WasmPlugin in a plugin slot ("" when the slot is empty).
func slotPlugin(t testing.TB, c *xdstest.Client, slot string) string {
	t.Helper()
	for _, a := range c.State(resource.ExtensionConfigType).Resources {
		var tec core.TypedExtensionConfig
		require.NoError(t, a.UnmarshalTo(&tec))
		if tec.Name != slot {
			continue
		}
		var w wasmfilter.Wasm
		if tec.TypedConfig.UnmarshalTo(&w) != nil {
			return ""
		}
		return w.Config.GetName()
	}
	t.Fatalf("no slot %s", slot)
	return ""
}

// hasPlugin reports whether a plugin slot in the ECDS resources holds the named WasmPlugin.
func hasPlugin(res []*anypb.Any, name string) bool {
	for _, a := range res {
		var tec core.TypedExtensionConfig
		var w wasmfilter.Wasm
		if a.UnmarshalTo(&tec) == nil && tec.TypedConfig.UnmarshalTo(&w) == nil && w.Config.GetName() == name {
			return true
		}
	}
	return false
}

// Only the inbound of a Service an AuthorizationPolicy selects carries the authz filter: the
// others pay nothing for it per request.
func TestAuthzFilterOnlyWhereSelected(t *testing.T) {
	srv, addr := startServer(t)
	policy := &crd.AuthorizationPolicy{Metadata: crd.ObjectMeta{Name: "reviews-callers", Generation: 1}, Spec: crd.AuthorizationPolicySpec{
		Services: []string{"reviews"}, Action: "ALLOW", Rules: []crd.AuthorizationRule{{From: []crd.Caller{{Service: "frontend"}}}}}}
	srv.Update(mesh(t, 90, 10, policy), 1)
	fe, rv := sidecar("frontend", "v1", 20000), sidecar("reviews", "v1", 20010)
	cf, cr := dial(t, addr, fe, nil), dial(t, addr, rv, nil)
	waitComplete(t, cf)
	waitComplete(t, cr)
	waitAcked(t, srv)
	require.NotContains(t, cf.State(resource.ExtensionConfigType).Names, "wasmesh.authz")
	require.Contains(t, cr.State(resource.ExtensionConfigType).Names, "wasmesh.authz")
	inboundFilters := func(c *xdstest.Client) []string {
		var l listener.Listener
		for _, a := range c.State(resource.ListenerType).Resources {
			require.NoError(t, a.UnmarshalTo(&l))
			if l.Name != translate.ListenerInbound {
				continue
			}
			var m hcm.HttpConnectionManager
			require.NoError(t, l.FilterChains[0].Filters[0].GetTypedConfig().UnmarshalTo(&m))
			var names []string
			for _, f := range m.HttpFilters {
				names = append(names, f.Name)
			}
			return names
		}
		t.Fatal("no inbound listener")
		return nil
	}
	require.NotContains(t, inboundFilters(cf), "wasmesh.authz")
	require.Contains(t, inboundFilters(cr), "wasmesh.authz")
	// Status names only the sidecars that enforce the policy.
	var on []string
	for _, ns := range srv.ResourceNodes(crd.KeyOf(policy), 1) {
		on = append(on, ns.Node+" "+string(ns.State))
	}
	require.Equal(t, []string{rv.ID + " acked"}, on)
}
