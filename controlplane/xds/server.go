package xds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// typeURLs maps the short type names to xDS type URLs.
var typeURLs = map[string]string{
	translate.TypeListeners:        resource.ListenerType,
	translate.TypeRoutes:           resource.RouteType,
	translate.TypeClusters:         resource.ClusterType,
	translate.TypeEndpoints:        resource.EndpointType,
	translate.TypeExtensionConfigs: resource.ExtensionConfigType,
	translate.TypeSecrets:          resource.SecretType,
}

var responseTypes = map[string]types.ResponseType{
	translate.TypeListeners:        types.Listener,
	translate.TypeRoutes:           types.Route,
	translate.TypeClusters:         types.Cluster,
	translate.TypeEndpoints:        types.Endpoint,
	translate.TypeExtensionConfigs: types.ExtensionConfig,
	translate.TypeSecrets:          types.Secret,
}

// shortType returns the short name of a type URL ("" when wasmesh does not serve it).
func shortType(url string) string {
	for short, u := range typeURLs {
		if u == url {
			return short
		}
	}
	return ""
}

// Config configures a Server.
type Config struct {
	// Options are the translation options (module server URL, built-in modules).
	Options translate.Options
	// Log receives the server's log (default: discarded).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RetryBase and RetryMax bound the backoff between re-pushes of a rejected version
	// (defaults 500ms and 30s).
	RetryBase, RetryMax time.Duration
	// ForgetAfter is how long a disconnected node stays in the status (and its snapshot in
	// the cache) before it is forgotten (default 10 minutes).
	ForgetAfter time.Duration
	// HealthInterval is how often the server reads its connected nodes' plugin stats from
	// their admins (default 5s).
	HealthInterval time.Duration
	// Auth tells which node id a stream proved (required: without it every stream is
	// refused). A stream is served only the configuration of that node.
	Auth Authenticator
	// CA issues each node's identity certificate, served with the CA bundle over SDS on the
	// node's ADS stream and rotated before expiry (nil: no secrets; a TransportPolicy's TLS
	// then never gets its certificates).
	CA *ca.CA
	// Rand returns a number in [0,1) that spreads rotations (default math/rand/v2).
	Rand func() float64
}

// Server is the ADS server with per-node snapshots and ACK/NACK bookkeeping. It implements
// api.StatusSource.
type Server struct {
	cfg   Config
	cache cache.SnapshotCache
	xds   serverv3.Server

	mu       sync.Mutex
	mesh     *translate.Mesh
	meshErr  error
	revision uint64
	// observed is the generation of each resource of the set mesh was translated from.
	observed map[crd.Key]int64
	nodes    map[string]*nodeState
	streams  map[int64]*streamState
	seq      uint64        // responses sent
	changed  chan struct{} // closed and replaced on every bookkeeping change
}

var _ api.StatusSource = (*Server)(nil)

type nodeState struct {
	node     translate.Node
	streams  int
	lastSeen time.Time
	// The current snapshot: what it carries and its version per type.
	revision uint64
	versions map[string]string
	err      error // why the node has no current snapshot
	types    map[string]*typeState
	res      *translate.Resources   // what the current snapshot was built from
	modules  []api.ModuleStatus     // res's Wasm filter configs and their modules (Modules)
	peer     string                 // the remote address of its latest stream
	health   map[string]pluginStats // by plugin ECDS name, from the node's stats
	// identity is the node's current certificate (nil: none issued), rotated by rotate.
	identity *ca.Leaf
	rotateAt time.Time
	rotate   *time.Timer
	idErr    error
}

type typeState struct {
	acked, sent       string
	nack, nackVersion string
	nackSeq           uint64 // the sequence number of the rejected response
	// retries counts the re-pushes of a rejected version (reset by a new version); retry is
	// the pending re-push.
	retries int
	retry   *time.Timer
}

type streamState struct {
	// authNode is the node id the stream's credential proved; nodeID is set by its first
	// request, which must name the same node.
	authNode string
	nodeID   string
	// peer is the stream's remote address.
	peer string
	// nonces holds, per type URL, the last responses sent on this stream.
	nonces map[string][]sent
}

// sent is one response: its nonce, version and a server-wide sequence number, so that an
// acknowledgement can be told apart from a request that merely repeats an old nonce.
type sent struct {
	nonce, version string
	seq            uint64
}

func (st *streamState) lookup(url, nonce string) sent {
	for _, x := range st.nonces[url] {
		if x.nonce == nonce {
			return x
		}
	}
	return sent{}
}

// New returns a Server. It serves nothing until Serve, and gives nodes an empty
// configuration until the first Update.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 500 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = 10 * time.Minute
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 5 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	s := &Server{
		cfg:     cfg,
		cache:   cache.NewSnapshotCache(true, cache.IDHash{}, nil),
		nodes:   map[string]*nodeState{},
		streams: map[int64]*streamState{},
		changed: make(chan struct{}),
	}
	s.mesh, s.meshErr = translate.Build(&crd.Set{}, cfg.Options)
	// Ordered: CDS before EDS and LDS before RDS in one push, so a rebuilt cluster is there
	// to take its endpoints (see endpointsVersion).
	s.xds = serverv3.NewServer(context.Background(), s.cache, s, sotw.WithOrderedADS())
	return s
}

// Serve serves ADS on the listener until ctx ends (then it stops gracefully, giving open
// streams a second) and returns nil, or until serving fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	gs := grpc.NewServer(
		grpc.MaxConcurrentStreams(1<<20),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	discovery.RegisterAggregatedDiscoveryServiceServer(gs, s.xds)
	done := make(chan error, 1)
	go func() { done <- gs.Serve(ln) }()
	hctx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	go s.pollHealth(hctx)
	select {
	case err := <-done:
		return fmt.Errorf("serve ads: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		gs.Stop() // ADS streams never end on their own
	}
	<-done
	return nil
}

// Update translates the resources at a store revision and pushes every known node its new
// snapshot. When the resources cannot be translated (validation refuses such sets, so this
// is a bug), nodes keep their current snapshot and their status names the error.
func (s *Server) Update(set *crd.Set, revision uint64) {
	mesh, err := translate.Build(set, s.cfg.Options)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revision = revision
	if err != nil {
		s.meshErr = fmt.Errorf("revision %d: %w", revision, err)
		s.cfg.Log.Error("translate", "revision", revision, "err", err)
		for _, n := range s.nodes {
			n.err = s.meshErr
		}
		s.notifyLocked()
		return
	}
	s.mesh, s.meshErr = mesh, nil
	s.observed = make(map[crd.Key]int64, len(s.observed))
	for _, o := range set.Objects() {
		s.observed[crd.KeyOf(o)] = o.Meta().Generation
	}
	s.forgetLocked()
	for _, id := range slices.Sorted(maps.Keys(s.nodes)) {
		s.pushLocked(s.nodes[id])
	}
	s.notifyLocked()
}

// forgetLocked drops the nodes disconnected for longer than ForgetAfter, with their
// snapshots: sidecars come and go under new ids, and the server must not grow with them.
func (s *Server) forgetLocked() {
	now := s.cfg.Now()
	for id, n := range s.nodes {
		if n.streams == 0 && now.Sub(n.lastSeen) > s.cfg.ForgetAfter {
			for _, ts := range n.types {
				stopTimer(ts)
			}
			if n.rotate != nil {
				n.rotate.Stop()
			}
			delete(s.nodes, id)
			s.cache.ClearSnapshot(id)
		}
	}
}

// pushLocked builds the node's snapshot from the current mesh and sets it in the cache.
func (s *Server) pushLocked(n *nodeState) {
	if s.meshErr != nil {
		n.err = s.meshErr
		return
	}
	res, err := s.mesh.ForNode(n.node)
	if err != nil {
		n.err = err
		s.cfg.Log.Error("translate node", "node", n.node.ID, "err", err)
		return
	}
	n.revision = s.revision
	s.setLocked(n, s.withIdentityLocked(n, res))
}

// setLocked sets the node's snapshot from res. A type whose content did not change keeps its
// version, so the node is sent nothing for it; a rejected type being retried gets a version
// suffix (`+retry<n>`), so the same content is sent again.
func (s *Server) setLocked(n *nodeState, res *translate.Resources) {
	snap := &cache.Snapshot{}
	versions := map[string]string{}
	view := res
	if ts := n.types[translate.TypeExtensionConfigs]; ts == nil || ts.acked == "" {
		view = res.ForStart() // a starting sidecar: ready once its plugins are loaded
	}
	for _, typ := range translate.TypeNames() {
		v := view.Version(typ)
		if typ == translate.TypeEndpoints {
			v = endpointsVersion(v, view.Version(translate.TypeClusters))
		}
		msgs := view.Messages(typ)
		if ts := n.types[typ]; ts != nil {
			if base, _, _ := strings.Cut(n.versions[typ], "+"); base != v {
				ts.retries = 0 // new content: a fresh start
				stopTimer(ts)
			} else if ts.retries > 0 {
				v += "+retry" + strconv.Itoa(ts.retries)
				if typ == translate.TypeExtensionConfigs {
					msgs = view.WithAttempt(ts.retries).Messages(typ)
				}
			}
		}
		versions[typ] = v
		items := make([]types.Resource, len(msgs))
		for i, m := range msgs {
			items[i] = m
		}
		snap.Resources[responseTypes[typ]] = cache.NewResources(v, items)
	}
	// No snap.Consistent(): translate's Resources.Check (run by ForNode) checks the same
	// references (EDS clusters and their endpoints, RDS names) and the ECDS names it skips.
	if err := s.cache.SetSnapshot(context.Background(), n.node.ID, snap); err != nil {
		n.err = fmt.Errorf("snapshot: %w", err)
		return
	}
	if res != n.res { // Nodes reads the modules every scrape: listed once per snapshot
		n.modules = nil
		for _, m := range res.Modules() {
			n.modules = append(n.modules, api.ModuleStatus{Config: m.Config, RootID: m.RootID, SHA256: m.SHA256})
		}
	}
	n.err, n.res, n.versions = nil, res, versions
	// A node already running the new version of a type (a rejected change was undone) gets
	// no push for it: its rejection is history.
	for typ, ts := range n.types {
		if ts.acked == versions[typ] && ts.nackVersion != versions[typ] {
			ts.nack, ts.nackVersion, ts.nackSeq = "", "", 0
			stopTimer(ts)
		}
	}
}

// endpointsVersion is the EDS version: it changes with the endpoints and with the clusters.
// Envoy rebuilds a cluster whose configuration changed and the rebuilt cluster waits for its
// endpoints again (cluster warming); a server that sends nothing because the endpoints did not
// change leaves it without endpoints until the initial fetch timeout (15s), so EDS goes out
// again with every cluster change (go-control-plane issue 245), after CDS (ordered ADS).
func endpointsVersion(endpoints, clusters string) string {
	sum := sha256.Sum256([]byte(endpoints + "/" + clusters))
	return hex.EncodeToString(sum[:])[:16]
}

func stopTimer(ts *typeState) {
	if ts.retry != nil {
		ts.retry.Stop()
		ts.retry = nil
	}
}

// maxRetries bounds the re-pushes of one rejected version: what still fails then (about half
// a minute later with the default backoff) is a real refusal, and Envoy would only log it
// again. A new version starts over.
const maxRetries = 6

// scheduleRetryLocked re-pushes a rejected version after a backoff: a rejection can be
// transient (Envoy refuses a Wasm filter whose module it is still fetching, then has it in
// its cache), and a node that never rejected anything pays nothing.
func (s *Server) scheduleRetryLocked(n *nodeState, typ string, ts *typeState) {
	if ts.retry != nil || ts.retries >= maxRetries {
		return
	}
	delay := s.cfg.RetryBase << min(ts.retries, 16)
	delay = min(delay, s.cfg.RetryMax)
	rejected := ts.nackVersion
	id := n.node.ID
	ts.retry = time.AfterFunc(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := s.nodes[id]
		if n == nil || n.types[typ] != ts || ts.retry == nil {
			return
		}
		ts.retry = nil
		if n.streams == 0 || n.res == nil || n.versions[typ] != rejected || ts.nackVersion != rejected {
			return // disconnected, changed or accepted meanwhile
		}
		ts.retries++
		s.setLocked(n, n.res)
		s.notifyLocked()
	})
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of the bookkeeping (a push, an ACK or
// NACK, a connect or disconnect): tests and benchmarks wait on it instead of polling.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// ---------------------------------------------------------------------------------------------
// go-control-plane callbacks (invoked synchronously on the stream's goroutine)

// OnStreamOpen implements serverv3.Callbacks: the stream's peer must prove a node id (see
// Config.Auth); a stream that proves none is refused before it is served anything, logged,
// and never appears in the status.
func (s *Server) OnStreamOpen(ctx context.Context, id int64, _ string) error {
	addr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	var nodeID string
	err := errors.New("no authenticator configured")
	if s.cfg.Auth != nil {
		nodeID, err = s.cfg.Auth.Authenticate(ctx)
	}
	if err != nil {
		s.cfg.Log.Warn("xds stream refused", "peer", addr, "err", err)
		return status.Error(codes.Unauthenticated, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[id] = &streamState{authNode: nodeID, peer: addr, nonces: map[string][]sent{}}
	return nil
}

// OnStreamClosed implements serverv3.Callbacks.
func (s *Server) OnStreamClosed(id int64, _ *core.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	delete(s.streams, id)
	if st == nil || st.nodeID == "" {
		return
	}
	if n := s.nodes[st.nodeID]; n != nil {
		n.streams--
		n.lastSeen = s.cfg.Now()
	}
	s.forgetLocked()
	s.notifyLocked()
}

// OnStreamRequest implements serverv3.Callbacks: it registers the node on its first request
// (and builds its snapshot before the cache answers) and records ACKs and NACKs.
func (s *Server) OnStreamRequest(id int64, req *discovery.DiscoveryRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	if st == nil {
		return fmt.Errorf("stream %d: not open", id)
	}
	// go-control-plane fills a request without a node with the stream's first one, so every
	// request names a node: each must be the one the credential proved.
	if got := req.GetNode().GetId(); got != "" && got != st.authNode {
		s.cfg.Log.Warn("xds stream refused: node id does not match the credential", "node", got, "credential", st.authNode)
		return status.Errorf(codes.PermissionDenied, "node %q: the stream's credential is for node %q", got, st.authNode)
	}
	if st.nodeID == "" {
		if req.GetNode().GetId() == "" {
			return errors.New("the first request of a stream must carry the node id")
		}
		node := translate.NodeFromProto(req.GetNode())
		st.nodeID = node.ID
		n := s.nodes[node.ID]
		if n == nil {
			n = &nodeState{types: map[string]*typeState{}}
			s.nodes[node.ID] = n
		}
		n.streams++
		n.peer = st.peer
		// A new stream may be a new Envoy process: what it runs, it says in its
		// subscriptions; until it ACKs filter configs it is a starting sidecar (ForStart).
		for _, ts := range n.types {
			ts.acked = ""
		}
		if n.node != node || n.versions == nil || n.types[translate.TypeExtensionConfigs] != nil {
			n.node = node
			s.pushLocked(n)
		}
	}
	n := s.nodes[st.nodeID]
	n.lastSeen = s.cfg.Now()
	typ := shortType(req.GetTypeUrl())
	if typ == "" {
		s.notifyLocked()
		return nil
	}
	ts := n.types[typ]
	if ts == nil {
		ts = &typeState{}
		n.types[typ] = ts
	}
	resp := st.lookup(req.GetTypeUrl(), req.GetResponseNonce())
	switch {
	case req.GetResponseNonce() == "":
		// A new subscription; after a reconnect it names the version the node runs.
		if v := req.GetVersionInfo(); v != "" {
			ts.acked = v
		}
	case req.GetErrorDetail() != nil:
		ts.nack, ts.nackVersion, ts.nackSeq = req.GetErrorDetail().GetMessage(), resp.version, resp.seq
		if ts.nack == "" {
			ts.nack = "rejected (no error detail)"
		}
		s.cfg.Log.Warn("xds nack", "node", n.node.ID, "type", typ, "version", ts.nackVersion, "error", ts.nack)
		// go-control-plane's cache answers a request whose version differs from the
		// snapshot's at once, so a NACK (which names the last accepted version) would get
		// the rejected version back in a tight loop. Answer it as if the node held the
		// rejected version: the cache then waits for a new snapshot, and the retry below
		// makes one.
		if ts.nackVersion != "" && ts.nackVersion == n.versions[typ] {
			req.VersionInfo = ts.nackVersion
			s.scheduleRetryLocked(n, typ, ts)
		}
	default:
		ts.acked = req.GetVersionInfo()
		// Only the acknowledgement of a response sent after the rejected one makes the
		// rejection history: with state of the world, one version can be accepted for some
		// resource names and rejected for more (a listener subscribing a new ECDS name), and
		// Envoy repeats the rejected response's nonce when it changes its subscription.
		if resp.seq > ts.nackSeq && resp.version == ts.acked {
			ts.nack, ts.nackVersion, ts.nackSeq = "", "", 0
			stopTimer(ts)
		}
		if ts.nackVersion != "" && ts.nackVersion == n.versions[typ] {
			req.VersionInfo = ts.nackVersion // still rejected: no resend before the retry
		}
	}
	s.notifyLocked()
	return nil
}

// OnStreamResponse implements serverv3.Callbacks: it records what was sent.
func (s *Server) OnStreamResponse(_ context.Context, id int64, _ *discovery.DiscoveryRequest, resp *discovery.DiscoveryResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	if st == nil || st.nodeID == "" {
		return
	}
	url := resp.GetTypeUrl()
	s.seq++
	// Envoy answers the latest response; a few older ones cover requests in flight.
	if len(st.nonces[url]) >= 8 {
		st.nonces[url] = slices.Delete(st.nonces[url], 0, 1)
	}
	st.nonces[url] = append(st.nonces[url], sent{nonce: resp.GetNonce(), version: resp.GetVersionInfo(), seq: s.seq})
	if typ := shortType(url); typ != "" {
		ts := s.nodes[st.nodeID].types[typ]
		if ts == nil {
			ts = &typeState{}
			s.nodes[st.nodeID].types[typ] = ts
		}
		ts.sent = resp.GetVersionInfo()
	}
	s.notifyLocked()
}

// OnFetchRequest implements serverv3.Callbacks (REST is not served).
func (s *Server) OnFetchRequest(context.Context, *discovery.DiscoveryRequest) error {
	return errors.New("wasmesh serves ADS only")
}

// OnFetchResponse implements serverv3.Callbacks.
func (s *Server) OnFetchResponse(*discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {}

// OnDeltaStreamOpen implements serverv3.Callbacks: wasmesh serves state-of-the-world ADS.
func (s *Server) OnDeltaStreamOpen(context.Context, int64, string) error {
	return errors.New("wasmesh serves state-of-the-world ADS, not delta xDS")
}

// OnDeltaStreamClosed implements serverv3.Callbacks.
func (s *Server) OnDeltaStreamClosed(int64, *core.Node) {}

// OnStreamDeltaRequest implements serverv3.Callbacks.
func (s *Server) OnStreamDeltaRequest(int64, *discovery.DeltaDiscoveryRequest) error { return nil }

// OnStreamDeltaResponse implements serverv3.Callbacks.
func (s *Server) OnStreamDeltaResponse(int64, *discovery.DeltaDiscoveryRequest, *discovery.DeltaDiscoveryResponse) {
}

// ---------------------------------------------------------------------------------------------
// status

// Nodes implements api.StatusSource: every node the server has seen, sorted by id.
func (s *Server) Nodes() []api.SidecarStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]api.SidecarStatus, 0, len(s.nodes))
	for _, id := range slices.Sorted(maps.Keys(s.nodes)) {
		n := s.nodes[id]
		ns := api.SidecarStatus{ID: id, Service: n.node.Service, Version: n.node.Version, Connected: n.streams > 0,
			AdminAddress: n.node.AdminAddress, PeerAddress: n.peer, Types: []api.TypeStatus{}}
		if !n.lastSeen.IsZero() {
			t := n.lastSeen
			ns.LastSeen = &t
		}
		if n.err != nil {
			ns.Error = n.err.Error()
		} else if n.idErr != nil {
			ns.Error = n.idErr.Error()
		}
		if l := n.identity; l != nil {
			exp, rot := l.NotAfter, n.rotateAt
			ns.Identity, ns.CertExpiry, ns.CertRotate = l.SPIFFEID, &exp, &rot
		}
		if s.mesh != nil && n.node.InboundAddress != "" {
			ns.InboundMode = s.mesh.Mode(n.node.Service)
		}
		if n.versions != nil {
			ns.Revision = n.revision
		}
		ns.Plugins = n.pluginHealth()
		ns.Modules = slices.Clone(n.modules)
		for _, typ := range translate.TypeNames() {
			ts := n.types[typ]
			if ts == nil {
				continue
			}
			tstat := api.TypeStatus{
				Type: typ, Acked: ts.acked, Sent: ts.sent,
				Pending: ts.sent != "" && ts.sent != ts.acked && !sameContent(ts.sent, ts.nackVersion),
				NACK:    ts.nack, NACKVersion: ts.nackVersion,
			}
			if firstRefusal(ts) { // retried before it counts (see ResourceNodes)
				tstat.Pending, tstat.NACK, tstat.NACKVersion = true, "", ""
			}
			ns.Types = append(ns.Types, tstat)
		}
		out = append(out, ns)
	}
	return out
}

// ObservedGeneration implements api.StatusSource: the generation of the resource in the
// latest set the server translated into the nodes' snapshots (0 when it was in none: not
// translated yet, or the translation failed).
func (s *Server) ObservedGeneration(key crd.Key) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.observed[key]
}

// ResourceNodes implements api.StatusSource: the connected nodes whose current snapshot
// carries the resource. A node is crd.Acked when it acknowledged the current version of every
// xDS type carrying the resource, crd.NACKed when it rejected one of them (Error names the
// type and quotes the node) and the retry was rejected too, else crd.Pending; a snapshot
// built from an older generation of the resource is crd.Pending too. Version is the store revision the
// snapshot was built from.
func (s *Server) ResourceNodes(key crd.Key, generation int64) []crd.NodeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crd.NodeStatus
	for _, id := range slices.Sorted(maps.Keys(s.nodes)) {
		n := s.nodes[id]
		if n.res == nil || n.streams == 0 {
			continue
		}
		src, ok := n.res.Source(key)
		if !ok || len(src.Types) == 0 {
			continue
		}
		ns := crd.NodeStatus{Node: id, State: crd.Acked, Version: strconv.FormatUint(n.revision, 10)}
		if key.Kind == crd.KindWasmPlugin {
			ns.Health = n.health[translate.PluginECDSName(key)].String()
		}
		if src.Generation != generation {
			ns.State = crd.Pending
		}
		for _, typ := range src.Types {
			ts, want := n.types[typ], n.versions[typ]
			switch {
			case ts != nil && sameContent(ts.nackVersion, want) && (firstRefusal(ts) || ts.nackVersion != want):
				// A first refusal is retried before it counts: Envoy refuses a WasmPlugin
				// whose module it is still fetching. And while a re-push of the refused
				// content is on its way (want is a later attempt than the refused one), the
				// node has not answered it yet.
				ns.State, ns.Error = crd.Pending, typ+": refused once, retrying: "+ts.nack
			case ts != nil && ts.nack != "" && sameContent(ts.nackVersion, want):
				ns.State, ns.Error = crd.NACKed, typ+": "+ts.nack
			case ns.State == crd.Acked && (ts == nil || ts.acked != want):
				ns.State = crd.Pending
			}
			if ns.State == crd.NACKed {
				break
			}
		}
		out = append(out, ns)
	}
	return out
}

// sameContent reports whether two versions carry the same resources: equal but for the
// `+retry<n>` suffix of a re-push.
func sameContent(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	return a == b
}

// firstRefusal reports whether the type's rejection is a first one whose retry is pending: it
// does not count yet, since Envoy refuses a WasmPlugin whose module it is still fetching.
func firstRefusal(ts *typeState) bool {
	return ts.nack != "" && ts.retries == 0 && ts.retry != nil
}

// WaitAcked blocks until the server has translated the store revision (or a later one) and
// every connected node has answered its current snapshot: acknowledged the current version
// of every type it subscribed to, or rejected it. A node whose configuration cannot be built
// counts as answered. It returns ctx's error when ctx ends first.
func (s *Server) WaitAcked(ctx context.Context, revision uint64) error {
	for {
		s.mu.Lock()
		done := s.revision >= revision
		for _, n := range s.nodes {
			if n.streams == 0 || !done || n.err != nil {
				continue
			}
			if n.revision < revision {
				done = false
				break
			}
			for typ, ts := range n.types {
				if want := n.versions[typ]; ts.acked != want && ts.nackVersion != want {
					done = false
				}
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
