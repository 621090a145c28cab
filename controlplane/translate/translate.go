package translate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
	"github.com/wasmesh/wasmesh/filters/chain"
	"github.com/wasmesh/wasmesh/sdk/conventions"
)

// Resource names (docs/conventions.md).
const (
	ListenerInbound  = "inbound"
	ListenerOutbound = "outbound"
	RouteOutbound    = "outbound"
	ClusterApp       = "inbound|app"
	ModulesCluster   = "wasmesh-modules"
	// BundleVMID is the vm_id of the bundle module: one VM per worker for the whole chain.
	BundleVMID = "wasmesh"
	// BundleFile is the bundle module's file name among the built-in modules.
	BundleFile = "wasmesh.wasm"
	// WasmRuntime is the Wasm runtime of stock Envoy.
	WasmRuntime = "envoy.wasm.runtime.v8"
	// WasmTypeURL is the type of every ECDS filter config wasmesh sends.
	WasmTypeURL = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	// FaultTypeURL is the type of a plugin slot's default and empty config (see slotFilters).
	FaultTypeURL = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
)

// ECDSName returns the ECDS name of a built-in filter: `wasmesh.<filter>`.
func ECDSName(filter string) string { return "wasmesh." + filter }

// PluginECDSName returns the ECDS name of a WasmPlugin: `wasmesh.plugin.<name>`, with the
// namespace before the name outside the default namespace.
func PluginECDSName(key crd.Key) string {
	if key.Namespace == "" || key.Namespace == crd.DefaultNamespace {
		return "wasmesh.plugin." + key.Name
	}
	return "wasmesh.plugin." + key.Namespace + "." + key.Name
}

// Options are the inputs of translation that do not come from the resources.
type Options struct {
	// ModulesURL is the base URL Envoy fetches modules from (through the bootstrap cluster
	// wasmesh-modules): `http://<http address>`; modules are at <ModulesURL>/modules/<sha256>.
	ModulesURL string
	// Builtins maps the built-in module file names (wasmesh.wasm, router.wasm, ...) to their
	// sha256. With the bundle, the built-in filters run as its pipeline (one ECDS filter,
	// root_id "chain"); without it, as the four standalone modules; with neither, the chain has
	// no built-in filters.
	Builtins map[string]string
	// SeparateFilters emits the four built-in filters as four ECDS filters (the bundle's
	// root_ids) even when the bundle could run them as one pipeline.
	SeparateFilters bool
	// TrustDomain is the SPIFFE trust domain of the mesh's identities (default
	// DefaultTrustDomain): outbound mTLS verifies a server's spiffe://<trust domain>/ns/<namespace>/sa/<service>.
	TrustDomain string
}

// Node is what translation needs to know about a sidecar, from its node metadata
// (docs/conventions.md).
type Node struct {
	ID              string
	Service         string
	Version         string
	AppAddress      string
	InboundAddress  string
	OutboundAddress string
	// AdminAddress is the sidecar's Envoy admin; status reads its stats (not used to build
	// configuration).
	AdminAddress string
}

// Source records which xDS types carry a resource on a node, and at which generation.
type Source struct {
	Generation int64
	// Types are the short xDS type names (see TypeNames) in TypeNames order.
	Types []string
}

// Short xDS type names, as status reports them.
const (
	TypeListeners        = "listeners"
	TypeRoutes           = "routes"
	TypeClusters         = "clusters"
	TypeEndpoints        = "endpoints"
	TypeExtensionConfigs = "extension_configs"
	// TypeSecrets are SDS secrets (a node's identity and the CA bundle); the xDS server adds
	// them to a node's resources (Resources.WithSecrets), translation makes none.
	TypeSecrets = "secrets"
)

// TypeNames returns the short xDS type names in push order.
func TypeNames() []string {
	return []string{TypeClusters, TypeEndpoints, TypeListeners, TypeRoutes, TypeExtensionConfigs, TypeSecrets}
}

// Resources are one node's xDS resources, each list sorted by name.
type Resources struct {
	Listeners        []*listener.Listener
	Routes           []*route.RouteConfiguration
	Clusters         []*cluster.Cluster
	Endpoints        []*endpoint.ClusterLoadAssignment
	ExtensionConfigs []*core.TypedExtensionConfig
	Secrets          []*tlsv3.Secret
	// shared and own map the resources that shaped this node's configuration to where they
	// went: shared (every node's, the mesh's map) and own (this node's WasmPlugins).
	shared, own map[crd.Key]Source

	digests map[proto.Message][sha256.Size]byte // of the shared resources, computed once
	// base is, per type, the digest of the resources every node shares (the mesh's); extra
	// are this node's own resources of that type (its inbound|app cluster, its plugins).
	base  map[string][sha256.Size]byte
	extra map[string][]proto.Message
}

// Source returns where a resource went in this node's configuration (false: it shaped none
// of it).
func (r *Resources) Source(k crd.Key) (Source, bool) {
	if s, ok := r.own[k]; ok {
		return s, true
	}
	s, ok := r.shared[k]
	return s, ok
}

// Sources returns every resource that shaped this node's configuration, with where it went.
func (r *Resources) Sources() map[crd.Key]Source {
	out := make(map[crd.Key]Source, len(r.shared)+len(r.own))
	maps.Copy(out, r.shared)
	maps.Copy(out, r.own)
	return out
}

// Messages returns the resources of one type (a short type name) in name order.
func (r *Resources) Messages(typ string) []proto.Message {
	var out []proto.Message
	switch typ {
	case TypeListeners:
		for _, m := range r.Listeners {
			out = append(out, m)
		}
	case TypeRoutes:
		for _, m := range r.Routes {
			out = append(out, m)
		}
	case TypeClusters:
		for _, m := range r.Clusters {
			out = append(out, m)
		}
	case TypeEndpoints:
		for _, m := range r.Endpoints {
			out = append(out, m)
		}
	case TypeExtensionConfigs:
		for _, m := range r.ExtensionConfigs {
			out = append(out, m)
		}
	case TypeSecrets:
		for _, m := range r.Secrets {
			out = append(out, m)
		}
	}
	return out
}

// Version returns a content version of one type's resources: the first 16 hex digits of a
// sha256 over the sha256 of each resource's deterministic encoding (for a node's resources,
// over the digest of what every node shares, then the node's own). Equal resources give
// equal versions, so a push that changes nothing for a type sends nothing for it.
func (r *Resources) Version(typ string) string {
	h := sha256.New()
	msgs := r.Messages(typ)
	if b, ok := r.base[typ]; ok {
		h.Write(b[:])
		msgs = r.extra[typ]
	}
	for _, m := range msgs {
		d, ok := r.digests[m]
		if !ok {
			d = digest(m)
		}
		h.Write(d[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// groupDigest is the digest of a list of resources' digests.
func groupDigest(digests map[proto.Message][sha256.Size]byte, msgs []proto.Message) [sha256.Size]byte {
	h := sha256.New()
	for _, m := range msgs {
		d := digests[m]
		h.Write(d[:])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func digest(m proto.Message) [sha256.Size]byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("translate: marshal %T: %v", m, err)) // built here, always valid
	}
	return sha256.Sum256(b)
}

// Mesh is what every sidecar shares, computed once per store revision by Build.
type Mesh struct {
	clusters   []*cluster.Cluster
	endpoints  []*endpoint.ClusterLoadAssignment
	routes     []*route.RouteConfiguration
	builtins   []*core.TypedExtensionConfig // in chain order; empty without modules
	authz      *core.TypedExtensionConfig   // the inbound authz filter; nil without modules
	authzFor   map[string][]ownSource       // per Service, the AuthorizationPolicies selecting it
	modes      map[string]string            // transport mode by Service name
	namespaces map[string]string            // namespace by Service name
	plugins    []plugin                     // in chain order
	// emptySlots are the configs of empty plugin slots, by slot name.
	emptySlots map[string]*core.TypedExtensionConfig
	sources    map[crd.Key]Source // shared sources (every node)
	digests    map[proto.Message][sha256.Size]byte
	base       map[string][sha256.Size]byte // per type, of the shared resources
	index      *index                       // of the shared clusters and routes, checked
	tracer     *tracer                      // Envoy's native tracer (nil: none)
}

type plugin struct {
	key      crd.Key
	gen      int64
	phase    string
	priority int32
	services []string // nil: every sidecar
	config   *core.TypedExtensionConfig
	slots    []*core.TypedExtensionConfig // config under each of its phase's slot names
}

// Build translates the resources into what every sidecar shares. It fails only on input that
// validation refuses (two Services with one name in different namespaces, a WasmPlugin
// without a module sha256).
func Build(set *crd.Set, opts Options) (*Mesh, error) {
	policies, err := ir.Build(set, ir.Options{TrustDomain: opts.trustDomain()})
	if err != nil {
		return nil, err
	}
	configs, err := policies.FilterConfigs()
	if err != nil {
		return nil, err
	}
	m := &Mesh{sources: map[crd.Key]Source{}}
	routes := make(map[string]*crd.TrafficRoute, len(set.TrafficRoutes))
	for _, r := range set.TrafficRoutes {
		routes[r.Spec.Service] = r
	}
	ecds := []string{}
	if len(opts.Builtins) > 0 {
		if m.builtins, err = builtinConfigs(configs, opts); err != nil {
			return nil, err
		}
	}
	if len(m.builtins) > 0 {
		ecds = []string{TypeExtensionConfigs}
	}

	services := slices.Clone(set.Services)
	slices.SortFunc(services, func(a, b *crd.Service) int { return cmp.Compare(a.Metadata.Name, b.Metadata.Name) })
	vhosts := make([]*route.VirtualHost, 0, len(services))
	for _, s := range services {
		name := s.Metadata.Name
		cs, clas := versionClusters(s)
		m.clusters = append(m.clusters, cs...)
		m.endpoints = append(m.endpoints, clas...)
		vhosts = append(vhosts, virtualHost(s, routes[name]))
		m.sources[crd.KeyOf(s)] = source(s, slices.Concat([]string{TypeClusters, TypeEndpoints, TypeRoutes}, ecds))
	}
	if m.tracer = tracerOf(set); m.tracer != nil {
		m.clusters = append(m.clusters, m.tracer.cluster)
	}
	slices.SortFunc(m.clusters, func(a, b *cluster.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	m.modes, m.namespaces = map[string]string{}, map[string]string{}
	for _, s := range services {
		m.modes[s.Metadata.Name] = set.TransportMode(s.Metadata.Name)
		m.namespaces[s.Metadata.Name] = crd.KeyOf(s).Namespace
	}
	m.secureClusters(services, opts)
	for _, t := range set.TransportPolicies {
		m.sources[crd.KeyOf(t)] = source(t, []string{TypeClusters, TypeListeners})
	}
	if m.authz, err = authzFilterConfig(policies, opts); err != nil {
		return nil, err
	}
	m.authzFor = authzSources(set, policies) // each node's own sources name the policies it enforces
	slices.SortFunc(m.endpoints, func(a, b *endpoint.ClusterLoadAssignment) int { return cmp.Compare(a.ClusterName, b.ClusterName) })
	m.routes = []*route.RouteConfiguration{{
		Name:             RouteOutbound,
		VirtualHosts:     vhosts,
		ValidateClusters: wrapperspb.Bool(false),
	}}
	for _, r := range set.TrafficRoutes {
		types := []string{TypeRoutes}
		if len(r.Spec.Rules) > 0 || r.Spec.Split != nil {
			types = append(types, ecds...)
		}
		m.sources[crd.KeyOf(r)] = source(r, types)
	}
	for _, f := range set.FaultInjections {
		m.sources[crd.KeyOf(f)] = source(f, ecds)
	}
	for _, t := range set.Telemetries {
		types := ecds
		if m.tracer != nil && m.tracer.source == t {
			types = slices.Concat(ecds, []string{TypeListeners, TypeClusters})
		}
		m.sources[crd.KeyOf(t)] = source(t, types)
	}
	var errs []error
	for _, w := range set.WasmPlugins {
		p, err := pluginOf(w, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.plugins = append(m.plugins, p)
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	// Chain order: phase before, then after; higher priority first; ties by name.
	slices.SortFunc(m.plugins, func(a, b plugin) int {
		return cmp.Or(
			cmp.Compare(phaseIndex(a.phase), phaseIndex(b.phase)),
			cmp.Compare(b.priority, a.priority),
			cmp.Compare(a.config.Name, b.config.Name),
		)
	})
	if err := CheckPluginSlots(set); err != nil {
		return nil, err
	}
	m.emptySlots = map[string]*core.TypedExtensionConfig{}
	for _, phase := range []string{crd.PhaseBefore, crd.PhaseAfter} {
		for i := range PluginSlots {
			name := SlotName(phase, i)
			m.emptySlots[name] = emptySlot(name)
		}
	}
	for i := range m.plugins {
		p := &m.plugins[i]
		for j := range PluginSlots {
			p.slots = append(p.slots, inSlot(p.config, SlotName(p.phase, j)))
		}
	}
	if m.index, err = newIndex(m.clusters, m.endpoints, m.routes); err != nil {
		return nil, fmt.Errorf("inconsistent translation: %w", err)
	}
	m.digests = map[proto.Message][sha256.Size]byte{}
	for _, msgs := range [][]proto.Message{
		asMessages(m.clusters), asMessages(m.endpoints), asMessages(m.routes), asMessages(m.builtins),
	} {
		for _, x := range msgs {
			m.digests[x] = digest(x)
		}
	}
	if m.authz != nil {
		m.digests[m.authz] = digest(m.authz)
	}
	for _, p := range m.plugins {
		for _, c := range p.slots {
			m.digests[c] = digest(c)
		}
	}
	for _, c := range m.emptySlots {
		m.digests[c] = digest(c)
	}
	m.base = map[string][sha256.Size]byte{
		TypeClusters:         groupDigest(m.digests, asMessages(m.clusters)),
		TypeEndpoints:        groupDigest(m.digests, asMessages(m.endpoints)),
		TypeRoutes:           groupDigest(m.digests, asMessages(m.routes)),
		TypeExtensionConfigs: groupDigest(m.digests, asMessages(m.builtins)),
	}
	return m, nil
}

func asMessages[M proto.Message](in []M) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}

func phaseIndex(p string) int {
	if p == crd.PhaseBefore {
		return 0
	}
	return 1
}

func source(o crd.Object, types []string) Source {
	return Source{Generation: o.Meta().Generation, Types: sortTypes(types)}
}

func sortTypes(types []string) []string {
	out := slices.Clone(types)
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Compare(slices.Index(TypeNames(), a), slices.Index(TypeNames(), b))
	})
	return slices.Compact(out)
}

// ForNode returns the node's resources: the shared ones plus its listeners, its app cluster
// and the WasmPlugins its Service gets. A node without service metadata (not a wasmesh
// sidecar) gets the shared resources only.
func (m *Mesh) ForNode(n Node) (*Resources, error) {
	r := &Resources{
		Routes:    m.routes,
		Clusters:  m.clusters,
		Endpoints: m.endpoints,
		shared:    m.sources,
		own:       map[crd.Key]Source{},
		digests:   m.digests,
		base:      m.base,
		extra:     map[string][]proto.Message{},
	}
	r.ExtensionConfigs = slices.Clone(m.builtins)
	// The node's plugins fill its fixed slots in chain order; the listener names the slots,
	// never the plugins, so adding or removing a plugin changes ECDS only (no listener
	// update, no drain).
	used := map[string]int{}
	var slotted []*core.TypedExtensionConfig
	for _, p := range m.plugins {
		if p.services != nil && !slices.Contains(p.services, n.Service) {
			continue
		}
		i := used[p.phase]
		used[p.phase]++
		if i >= PluginSlots { // Build refuses such sets (CheckPluginSlots)
			return nil, fmt.Errorf("node %s: more than %d WasmPlugins in phase %s", n.ID, PluginSlots, p.phase)
		}
		slotted = append(slotted, p.slots[i])
		r.own[p.key] = Source{Generation: p.gen, Types: []string{TypeExtensionConfigs}}
	}
	if n.OutboundAddress != "" {
		for _, phase := range []string{crd.PhaseBefore, crd.PhaseAfter} {
			for i := used[phase]; i < PluginSlots; i++ {
				slotted = append(slotted, m.emptySlots[SlotName(phase, i)])
			}
		}
		r.ExtensionConfigs = append(r.ExtensionConfigs, slotted...)
		r.extra[TypeExtensionConfigs] = asMessages(slotted)
	} else {
		clear(r.own) // no listener carries the plugins
	}
	inbound := n.InboundAddress != "" || n.AppAddress != ""
	// Only a Service some AuthorizationPolicy selects runs the authz filter: the others pay
	// nothing for it per request.
	authz := inbound && m.authz != nil && len(m.authzFor[n.Service]) > 0
	if authz {
		for _, a := range m.authzFor[n.Service] {
			// The first policy selecting a Service adds the filter to its inbound listener.
			r.own[a.key] = a.src
		}
		r.ExtensionConfigs = append(r.ExtensionConfigs, m.authz)
		r.extra[TypeExtensionConfigs] = append(r.extra[TypeExtensionConfigs], m.authz)
	}
	slices.SortFunc(r.ExtensionConfigs, func(a, b *core.TypedExtensionConfig) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.extra[TypeExtensionConfigs], func(a, b proto.Message) int {
		return cmp.Compare(a.(*core.TypedExtensionConfig).Name, b.(*core.TypedExtensionConfig).Name)
	})

	var errs []error
	tracing := m.tracer.hcmTracing(n)
	if inbound {
		in, err := address("inbound_address", n.InboundAddress)
		errs = append(errs, err)
		app, err := hostPort("app_address", n.AppAddress)
		errs = append(errs, err)
		if in != nil && app != nil {
			r.Listeners = append(r.Listeners, inboundListener(in, m.Mode(n.Service), authz, tracing))
			c := staticCluster(ClusterApp, []string{n.AppAddress})
			i, _ := slices.BinarySearchFunc(m.clusters, c.Name, func(x *cluster.Cluster, name string) int { return cmp.Compare(x.Name, name) })
			r.Clusters = slices.Insert(slices.Clone(m.clusters), i, c)
			r.extra[TypeClusters] = []proto.Message{c}
		}
	}
	if n.OutboundAddress != "" {
		out, err := address("outbound_address", n.OutboundAddress)
		errs = append(errs, err)
		if out != nil {
			chain := slices.Concat(slotFilters(crd.PhaseBefore), m.builtinFilters(), slotFilters(crd.PhaseAfter))
			r.Listeners = append(r.Listeners, outboundListener(out, chain, tracing))
		}
	}
	if err := joinErrs(errs); err != nil {
		return nil, fmt.Errorf("node %s: %w", n.ID, err)
	}
	slices.SortFunc(r.Listeners, func(a, b *listener.Listener) int { return cmp.Compare(a.Name, b.Name) })
	// The shared resources were checked once by Build; the node adds listeners and the
	// inbound|app cluster.
	idx := m.index
	if len(r.Clusters) != len(m.clusters) {
		idx = &index{clusters: m.index.clusters, routes: m.index.routes, extra: ClusterApp}
	}
	if err := r.checkListeners(idx); err != nil {
		return nil, fmt.Errorf("node %s: %w", n.ID, err)
	}
	return r, nil
}

func (m *Mesh) builtinFilters() []*hcm.HttpFilter {
	out := make([]*hcm.HttpFilter, 0, len(m.builtins))
	for _, c := range m.builtins {
		out = append(out, ecdsFilter(c.Name))
	}
	return out
}

// Check verifies the node's resources are consistent: every cluster a route names by name
// exists, every EDS cluster has its endpoints and every endpoint set its cluster, every route
// configuration a listener names exists, and every ECDS name a listener's filter chain
// references is defined (and nothing else is).
func (r *Resources) Check() error {
	idx, err := newIndex(r.Clusters, r.Endpoints, r.Routes)
	return errors.Join(err, r.checkListeners(idx))
}

// index holds the names listeners may refer to: the clusters (name → type) and the route
// configurations.
type index struct {
	clusters map[string]cluster.Cluster_DiscoveryType
	routes   map[string]bool
	extra    string // one more cluster (a node's inbound|app)
}

// newIndex indexes clusters and route configurations and checks them against each other:
// every EDS cluster has its endpoints, every endpoint set its EDS cluster, every cluster a
// route names exists.
func newIndex(clusters []*cluster.Cluster, endpoints []*endpoint.ClusterLoadAssignment, routes []*route.RouteConfiguration) (*index, error) {
	var errs []error
	idx := &index{clusters: make(map[string]cluster.Cluster_DiscoveryType, len(clusters)), routes: map[string]bool{}}
	for _, c := range clusters {
		idx.clusters[c.Name] = c.GetType()
	}
	cla := make(map[string]bool, len(endpoints))
	for _, e := range endpoints {
		cla[e.ClusterName] = true
		if t, ok := idx.clusters[e.ClusterName]; !ok || t != cluster.Cluster_EDS {
			errs = append(errs, fmt.Errorf("endpoints %q: no EDS cluster of that name", e.ClusterName))
		}
	}
	for _, c := range clusters {
		if c.GetType() == cluster.Cluster_EDS && !cla[c.Name] {
			errs = append(errs, fmt.Errorf("cluster %q: EDS without endpoints", c.Name))
		}
		for _, member := range aggregateMembers(c) {
			if _, ok := idx.clusters[member]; !ok {
				errs = append(errs, fmt.Errorf("cluster %q: aggregate member %q is not defined", c.Name, member))
			}
		}
	}
	for _, rc := range routes {
		idx.routes[rc.Name] = true
		for _, vh := range rc.VirtualHosts {
			for _, rt := range vh.Routes {
				if c := rt.GetRoute().GetCluster(); c != "" && !idx.hasCluster(c) {
					errs = append(errs, fmt.Errorf("route %q: virtual host %q: cluster %q is not defined", rc.Name, vh.Name, c))
				}
			}
		}
	}
	return idx, joinErrs(errs)
}

func (idx *index) hasCluster(name string) bool {
	_, ok := idx.clusters[name]
	return ok || (name != "" && name == idx.extra)
}

// checkListeners checks what the listeners refer to: route configurations, clusters of
// inline routes, and ECDS names (each referenced one defined, each defined one referenced).
func (r *Resources) checkListeners(idx *index) error {
	var errs []error
	ecds := map[string]bool{}
	for _, e := range r.ExtensionConfigs {
		ecds[e.Name] = true
	}
	referenced := map[string]bool{}
	for _, l := range r.Listeners {
		for _, fc := range l.FilterChains {
			for _, nf := range fc.Filters {
				var h hcm.HttpConnectionManager
				if nf.GetTypedConfig() == nil || nf.GetTypedConfig().UnmarshalTo(&h) != nil {
					continue
				}
				if rds := h.GetRds(); rds != nil && !idx.routes[rds.RouteConfigName] {
					errs = append(errs, fmt.Errorf("listener %q: route configuration %q is not defined", l.Name, rds.RouteConfigName))
				}
				for _, rt := range h.GetRouteConfig().GetVirtualHosts() {
					for _, x := range rt.Routes {
						if c := x.GetRoute().GetCluster(); c != "" && !idx.hasCluster(c) {
							errs = append(errs, fmt.Errorf("listener %q: cluster %q is not defined", l.Name, c))
						}
					}
				}
				for _, f := range h.HttpFilters {
					if cd := f.GetConfigDiscovery(); cd != nil {
						referenced[f.Name] = true
						if !ecds[f.Name] {
							errs = append(errs, fmt.Errorf("listener %q: filter config %q is not defined (ECDS)", l.Name, f.Name))
						}
					}
				}
			}
		}
	}
	if len(r.Listeners) > 0 {
		for _, e := range r.ExtensionConfigs {
			if !referenced[e.Name] {
				errs = append(errs, fmt.Errorf("filter config %q is defined but no listener uses it (ECDS)", e.Name))
			}
		}
	}
	return joinErrs(errs)
}

// ---------------------------------------------------------------------------------------------
// builders

func mustAny(m proto.Message) *anypb.Any {
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		panic(fmt.Sprintf("translate: marshal %T: %v", m, err)) // built here, always valid
	}
	return a
}

func adsSource() *core.ConfigSource {
	return &core.ConfigSource{
		ResourceApiVersion:    core.ApiVersion_V3,
		ConfigSourceSpecifier: &core.ConfigSource_Ads{Ads: &core.AggregatedConfigSource{}},
	}
}

// isIP reports whether every endpoint's host is an IP literal (EDS needs addresses; names
// go to a STRICT_DNS cluster instead).
func allIPs(endpoints []string) bool {
	for _, ep := range endpoints {
		host, _, err := net.SplitHostPort(ep)
		if err != nil {
			return false
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return false
		}
	}
	return true
}

func lbEndpoints(endpoints []string) []*endpoint.LbEndpoint {
	out := make([]*endpoint.LbEndpoint, 0, len(endpoints))
	for _, ep := range endpoints {
		host, port, _ := net.SplitHostPort(ep) // validated by crd
		p, _ := strconv.ParseUint(port, 10, 32)
		out = append(out, &endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{
			Address: socketAddress(host, uint32(p)),
		}}})
	}
	return out
}

func socketAddress(host string, port uint32) *core.Address {
	return &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
		Address: host, PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
	}}}
}

// versionCluster returns the cluster of a service version: EDS with its endpoints when they
// are IP addresses, else STRICT_DNS with the endpoints inline (and no EDS resource).
func versionCluster(name string, endpoints []string) (*cluster.Cluster, *endpoint.ClusterLoadAssignment) {
	if !allIPs(endpoints) {
		return staticCluster(name, endpoints), nil
	}
	c := &cluster.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(time.Second),
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig:     &cluster.Cluster_EdsClusterConfig{EdsConfig: adsSource()},
	}
	cla := &endpoint.ClusterLoadAssignment{
		ClusterName: name,
		Endpoints:   []*endpoint.LocalityLbEndpoints{{LbEndpoints: lbEndpoints(endpoints)}},
	}
	return c, cla
}

// staticCluster returns a cluster with its endpoints inline: STATIC for IP addresses,
// STRICT_DNS for names.
func staticCluster(name string, endpoints []string) *cluster.Cluster {
	typ := cluster.Cluster_STATIC
	if !allIPs(endpoints) {
		typ = cluster.Cluster_STRICT_DNS
	}
	return &cluster.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(time.Second),
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: typ},
		LoadAssignment: &endpoint.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints:   []*endpoint.LocalityLbEndpoints{{LbEndpoints: lbEndpoints(endpoints)}},
		},
	}
}

// virtualHost returns a Service's outbound virtual host: the routed route (the routing header
// names the version's cluster) and the default route, each with the timeout, retries and
// mirror of the Service's TrafficRoute (tr may be nil). With the mesh's default retries each
// comes twice: first for idempotent methods (more conditions retried), then for the rest.
func virtualHost(s *crd.Service, tr *crd.TrafficRoute) *route.VirtualHost {
	name := s.Metadata.Name
	retries := crd.EffectiveRetries(tr)
	failover := s.Spec.TrafficPolicy.FailoverEnabled() && len(s.Spec.Versions) > 1
	action := func(target *route.RouteAction, idempotent bool) *route.RouteAction {
		if tr != nil {
			if t := tr.Spec.Timeout; t != nil {
				target.Timeout = durationpb.New(t.Duration)
			}
			target.RequestMirrorPolicies = mirrorPolicies(name, tr.Spec.Mirror)
		}
		if idempotent {
			target.RetryPolicy = retryPolicy(retries, retries.IdempotentRetryOn, retries.RetriableStatusCodes, failover)
		} else {
			target.RetryPolicy = retryPolicy(retries, retries.RetryOn, nil, failover)
		}
		return target
	}
	routed := func() *route.RouteAction {
		return &route.RouteAction{ClusterSpecifier: &route.RouteAction_ClusterHeader{ClusterHeader: conventions.RoutingHeader}}
	}
	def := func() *route.RouteAction {
		return &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: VersionCluster(name, s.EffectiveDefaultVersion())}}
	}
	present := &route.HeaderMatcher{
		Name:                 conventions.RoutingHeader,
		HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: true},
	}
	var routes []*route.Route
	add := func(kind string, headers []*route.HeaderMatcher, a *route.RouteAction) {
		routes = append(routes, &route.Route{
			// Both routes of a kind share the name: it is the telemetry's route tag.
			Name:   name + "|" + kind,
			Match:  &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}, Headers: headers},
			Action: &route.Route_Route{Route: a},
		})
	}
	split := retries.Attempts > 0 && len(retries.IdempotentRetryOn) > 0
	if split {
		add("routed", []*route.HeaderMatcher{present, idempotentMatch()}, action(routed(), true))
	}
	add("routed", []*route.HeaderMatcher{present}, action(routed(), false))
	if split {
		add("default", []*route.HeaderMatcher{idempotentMatch()}, action(def(), true))
	}
	add("default", nil, action(def(), false))
	return &route.VirtualHost{
		Name:    name,
		Domains: []string{name, name + ":" + strconv.FormatUint(uint64(s.Spec.Port), 10)},
		Routes:  routes,
	}
}

func routerFilter() *hcm.HttpFilter {
	return &hcm.HttpFilter{
		Name:       "envoy.filters.http.router",
		ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
	}
}

func ecdsFilter(name string) *hcm.HttpFilter {
	return &hcm.HttpFilter{
		Name: name,
		ConfigType: &hcm.HttpFilter_ConfigDiscovery{ConfigDiscovery: &core.ExtensionConfigSource{
			ConfigSource: adsSource(),
			TypeUrls:     []string{WasmTypeURL},
		}},
	}
}

// PluginSlots is how many WasmPlugins a sidecar runs per phase: its outbound listener has
// this many fixed slots before the built-in filters and as many after them.
const PluginSlots = 4

// SlotName is the ECDS name of plugin slot i of a phase: `wasmesh.slot.<phase>.<i>`.
func SlotName(phase string, i int) string { return "wasmesh.slot." + phase + "." + strconv.Itoa(i) }

// slotFilters are a phase's plugin slots in the chain: each an ECDS filter that takes a
// WasmPlugin's Wasm config or, when the slot is empty, Envoy's fault filter doing nothing
// (see emptySlot). A slot has no default config: a starting sidecar's listener warms until
// every slot has its config and, with the configs of ForStart, until every plugin's module is
// loaded, so the sidecar reports ready only then; a plugin is never skipped.
func slotFilters(phase string) []*hcm.HttpFilter {
	out := make([]*hcm.HttpFilter, PluginSlots)
	for i := range out {
		f := ecdsFilter(SlotName(phase, i))
		cd := f.GetConfigDiscovery()
		cd.TypeUrls = append(cd.TypeUrls, FaultTypeURL)
		out[i] = f
	}
	return out
}

// emptySlot is the config of a slot no plugin fills: Envoy's fault filter with no fault.
func emptySlot(name string) *core.TypedExtensionConfig {
	return &core.TypedExtensionConfig{Name: name, TypedConfig: mustAny(&faultv3.HTTPFault{})}
}

// inSlot is a WasmPlugin's config under a slot's ECDS name (the plugin keeps its own name:
// Envoy's plugin_name and its wasm.<name>.* stats).
func inSlot(c *core.TypedExtensionConfig, slot string) *core.TypedExtensionConfig {
	return &core.TypedExtensionConfig{Name: slot, TypedConfig: c.TypedConfig}
}

// CheckPluginSlots refuses a set in which a Service's sidecars would run more WasmPlugins in
// one phase than they have slots, naming each WasmPlugin over the limit.
func CheckPluginSlots(set *crd.Set) error {
	count := map[[2]string]int{} // service, phase
	var errs []error
	plugins := slices.Clone(set.WasmPlugins)
	slices.SortFunc(plugins, func(a, b *crd.WasmPlugin) int {
		return cmp.Or(cmp.Compare(b.Spec.Priority, a.Spec.Priority), cmp.Compare(PluginECDSName(crd.KeyOf(a)), PluginECDSName(crd.KeyOf(b))))
	})
	for _, p := range plugins {
		phase := p.Spec.EffectivePhase()
		targets := p.Spec.Selector.Services
		if len(targets) == 0 {
			for _, s := range set.Services {
				targets = append(targets, s.Metadata.Name)
			}
		}
		for _, svc := range targets {
			k := [2]string{svc, phase}
			count[k]++
			if count[k] == PluginSlots+1 {
				errs = append(errs, &crd.ObjectError{Key: crd.KeyOf(p), Err: &crd.FieldError{Path: "spec.selector",
					Err: fmt.Errorf("the sidecars of Service %q would run more than %d WasmPlugins in phase %q (a sidecar has %d slots per phase): merge plugins, or select fewer services", svc, PluginSlots, phase, PluginSlots)}})
			}
		}
	}
	return joinErrs(errs)
}

func httpListener(name string, addr *core.Address, h *hcm.HttpConnectionManager) *listener.Listener {
	var dir core.TrafficDirection
	if h.Tracing != nil { // Envoy names spans ingress/egress by it
		dir = core.TrafficDirection_OUTBOUND
		if name == ListenerInbound {
			dir = core.TrafficDirection_INBOUND
		}
	}
	return &listener.Listener{
		TrafficDirection: dir,
		Name:             name,
		Address:          addr,
		FilterChains: []*listener.FilterChain{{Filters: []*listener.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listener.Filter_TypedConfig{TypedConfig: mustAny(h)},
		}}}},
	}
}

// inboundListener is a sidecar's inbound listener: the mesh boundary, the authz filter (when
// the modules are there and an AuthorizationPolicy selects the Service), the app; its filter chains follow the node's transport mode.
func inboundListener(addr *core.Address, mode string, authz bool, tracing *hcm.HttpConnectionManager_Tracing) *listener.Listener {
	filters := []*hcm.HttpFilter{boundaryFilter()}
	if authz {
		filters = append(filters, ecdsFilter(ECDSName(FilterAuthz)))
	}
	l := httpListener(ListenerInbound, addr, &hcm.HttpConnectionManager{
		StatPrefix: ListenerInbound,
		Tracing:    tracing,
		RouteSpecifier: &hcm.HttpConnectionManager_RouteConfig{RouteConfig: &route.RouteConfiguration{
			Name: ListenerInbound,
			VirtualHosts: []*route.VirtualHost{{
				Name:    ListenerInbound,
				Domains: []string{"*"},
				Routes: []*route.Route{{
					Name:  ListenerInbound,
					Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
					Action: &route.Route_Route{Route: &route.RouteAction{
						ClusterSpecifier: &route.RouteAction_Cluster{Cluster: ClusterApp},
						// The caller's outbound route carries the timeout.
						Timeout: durationpb.New(0),
					}},
				}},
			}},
		}},
		HttpFilters: append(filters, routerFilter()),
	})
	l.FilterChains, l.ListenerFilters = inboundChains(mode, l.FilterChains[0].Filters)
	return l
}

// ControlHeaderPrefix is the prefix of the mesh's control headers (the fault trigger, the
// routing header): requests entering a sidecar's inbound listener lose them, so only the
// app behind a sidecar, calling through its own outbound listener, can send one
// (docs/conventions.md, "The mesh boundary").
const ControlHeaderPrefix = "x-wasmesh-"

// boundaryFilter strips the control headers from requests entering the mesh.
func boundaryFilter() *hcm.HttpFilter {
	strip := &mutationv3.HeaderMutation{Action: &mutationv3.HeaderMutation_RemoveOnMatch_{
		RemoveOnMatch: &mutationv3.HeaderMutation_RemoveOnMatch{KeyMatcher: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: ControlHeaderPrefix},
		}},
	}}
	return &hcm.HttpFilter{
		Name: "wasmesh.boundary",
		ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: mustAny(&headermutationv3.HeaderMutation{
			Mutations: &headermutationv3.Mutations{RequestMutations: []*mutationv3.HeaderMutation{strip}},
		})},
	}
}

func outboundListener(addr *core.Address, chain []*hcm.HttpFilter, tracing *hcm.HttpConnectionManager_Tracing) *listener.Listener {
	return httpListener(ListenerOutbound, addr, &hcm.HttpConnectionManager{
		StatPrefix: ListenerOutbound,
		Tracing:    tracing,
		RouteSpecifier: &hcm.HttpConnectionManager_Rds{Rds: &hcm.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: RouteOutbound,
		}},
		HttpFilters: append(slices.Clone(chain), routerFilter()),
	})
}

func hostPort(field, s string) (*core.Address, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return nil, fmt.Errorf("metadata %s: %q is not host:port", field, s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil, fmt.Errorf("metadata %s: %q: port must be between 1 and 65535", field, s)
	}
	return socketAddress(host, uint32(p)), nil
}

// address is hostPort for a listener address, which must be an IP.
func address(field, s string) (*core.Address, error) {
	a, err := hostPort(field, s)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(a.GetSocketAddress().GetAddress()); err != nil {
		return nil, fmt.Errorf("metadata %s: %q: a listener binds an IP address, not a name", field, s)
	}
	return a, nil
}

// moduleCode is the remote data source Envoy fetches a module from: the module server,
// through the bootstrap cluster wasmesh-modules, checked against sha256, with retries.
func moduleCode(opts Options, sha string) *core.AsyncDataSource {
	return &core.AsyncDataSource{Specifier: &core.AsyncDataSource_Remote{Remote: &core.RemoteDataSource{
		HttpUri: &core.HttpUri{
			Uri:              strings.TrimSuffix(opts.ModulesURL, "/") + "/modules/" + sha,
			HttpUpstreamType: &core.HttpUri_Cluster{Cluster: ModulesCluster},
			Timeout:          durationpb.New(30 * time.Second),
		},
		Sha256: sha,
		RetryPolicy: &core.RetryPolicy{
			NumRetries: wrapperspb.UInt32(10),
			RetryBackOff: &core.BackoffStrategy{
				BaseInterval: durationpb.New(200 * time.Millisecond),
				MaxInterval:  durationpb.New(5 * time.Second),
			},
		},
	}}}
}

// ReloadBackoff is the backoff between Envoy's reloads of a crashed WasmPlugin VM (FAIL_RELOAD).
var ReloadBackoff = struct{ Base, Max time.Duration }{time.Second, 10 * time.Second}

func wasmConfig(name, rootID, vmID string, code *core.AsyncDataSource, configuration string, failure string, nackOnMiss bool) *core.TypedExtensionConfig {
	var policy wasmv3.FailurePolicy
	var reload *wasmv3.ReloadConfig
	switch failure {
	case crd.FailureOpen:
		policy = wasmv3.FailurePolicy_FAIL_OPEN
	case crd.FailureReload:
		policy = wasmv3.FailurePolicy_FAIL_RELOAD
		reload = &wasmv3.ReloadConfig{Backoff: &core.BackoffStrategy{
			BaseInterval: durationpb.New(ReloadBackoff.Base), MaxInterval: durationpb.New(ReloadBackoff.Max),
		}}
	default:
		policy = wasmv3.FailurePolicy_FAIL_CLOSED
	}
	w := &wasmfilter.Wasm{Config: &wasmv3.PluginConfig{
		ReloadConfig: reload,
		Name:         name,
		RootId:       rootID,
		Vm: &wasmv3.PluginConfig_VmConfig{VmConfig: &wasmv3.VmConfig{
			VmId:                vmID,
			Runtime:             WasmRuntime,
			Code:                code,
			NackOnCodeCacheMiss: nackOnMiss,
		}},
		Configuration: mustAny(wrapperspb.String(configuration)),
		FailurePolicy: policy,
	}}
	return &core.TypedExtensionConfig{Name: name, TypedConfig: mustAny(w)}
}

// AttemptEnv is the VM environment variable that numbers a WasmPlugin config's pushes after
// a rejection (see WithAttempt).
const AttemptEnv = "WASMESH_ATTEMPT"

// WithAttempt returns the resources with every WasmPlugin ECDS config marked as push attempt
// n (the VM environment variable WASMESH_ATTEMPT=n). Envoy skips an ECDS config equal to one
// it saw, even one it refused on a module cache miss, so the xDS server's re-push after a
// rejection must differ; the marker leaves the VM (keyed by vm_id, its configuration and
// code) and the plugin configuration as they are.
func (r *Resources) WithAttempt(n int) *Resources {
	return r.editPluginConfigs(func(vm *wasmv3.VmConfig) {
		vm.EnvironmentVariables = &wasmv3.EnvironmentVariables{KeyValues: map[string]string{AttemptEnv: strconv.Itoa(n)}}
	})
}

// ForStart returns the resources as a starting sidecar gets them: every WasmPlugin config
// without NackOnCodeCacheMiss, so Envoy fetches the module while the listener warms and the
// sidecar reports ready (admin /ready) only once the plugin is loaded. A running sidecar
// gets the configs as built (NackOnCodeCacheMiss: it refuses a config whose module it does
// not hold yet, keeps the slot's last config meanwhile, and the xDS server pushes again).
func (r *Resources) ForStart() *Resources {
	return r.editPluginConfigs(func(vm *wasmv3.VmConfig) { vm.NackOnCodeCacheMiss = false })
}

// editPluginConfigs returns the resources with edit applied to the VM config of every
// WasmPlugin ECDS config (the ones with NackOnCodeCacheMiss set), copied, never in place;
// the node's own configs, which Version reads, follow the copies.
func (r *Resources) editPluginConfigs(edit func(*wasmv3.VmConfig)) *Resources {
	out := *r
	out.ExtensionConfigs = make([]*core.TypedExtensionConfig, len(r.ExtensionConfigs))
	replaced := map[proto.Message]proto.Message{}
	for i, c := range r.ExtensionConfigs {
		out.ExtensionConfigs[i] = c
		var w wasmfilter.Wasm
		if c.GetTypedConfig().UnmarshalTo(&w) != nil || !w.GetConfig().GetVmConfig().GetNackOnCodeCacheMiss() {
			continue
		}
		edit(w.Config.GetVmConfig())
		out.ExtensionConfigs[i] = &core.TypedExtensionConfig{Name: c.Name, TypedConfig: mustAny(&w)}
		replaced[c] = out.ExtensionConfigs[i]
	}
	if r.extra != nil {
		out.extra = maps.Clone(r.extra)
		own := slices.Clone(r.extra[TypeExtensionConfigs])
		for i, m := range own {
			if x, ok := replaced[m]; ok {
				own[i] = x
			}
		}
		out.extra[TypeExtensionConfigs] = own
	}
	return &out
}

// builtinConfigs returns the built-in filters' ECDS configs in chain order: the bundle's
// pipeline (one config, root_id "chain") by default; the bundle's four root_ids with
// SeparateFilters; the four standalone modules when the bundle is absent.
func builtinConfigs(configs map[string][]byte, opts Options) ([]*core.TypedExtensionConfig, error) {
	bundle := opts.Builtins[BundleFile]
	if bundle != "" && !opts.SeparateFilters {
		stages := make([]chain.StageConfig, 0, len(Filters()))
		for _, f := range Filters() {
			stages = append(stages, chain.StageConfig{Filter: f, Config: configs[f]})
		}
		return []*core.TypedExtensionConfig{wasmConfig(ECDSName(FilterChain), chain.RootID, BundleVMID,
			moduleCode(opts, bundle), string(chain.Marshal(stages)), crd.FailureClosed, false)}, nil
	}
	var out []*core.TypedExtensionConfig
	var missing []string
	for _, f := range Filters() {
		sha, vmID := bundle, BundleVMID
		if sha == "" {
			sha, vmID = opts.Builtins[f+".wasm"], "wasmesh."+f
		}
		if sha == "" {
			missing = append(missing, f+".wasm")
			continue
		}
		out = append(out, wasmConfig(ECDSName(f), f, vmID, moduleCode(opts, sha), string(configs[f]), crd.FailureClosed, false))
	}
	if len(missing) == len(Filters()) {
		return nil, nil // no built-in modules at all: a chain without built-in filters
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("built-in modules: neither %s nor %s is present (run make build)", BundleFile, strings.Join(missing, ", "))
	}
	return out, nil
}

func pluginOf(w *crd.WasmPlugin, opts Options) (plugin, error) {
	key := crd.KeyOf(w)
	if w.Spec.Module.SHA256 == "" {
		return plugin{}, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: "spec.module.sha256", Err: errors.New("required (the module was never uploaded)")}}
	}
	configuration := ""
	if len(w.Spec.Config) > 0 && string(w.Spec.Config) != "null" {
		var s string
		if err := json.Unmarshal(w.Spec.Config, &s); err == nil {
			configuration = s // a string is passed as is
		} else {
			var v any
			if err := json.Unmarshal(w.Spec.Config, &v); err != nil {
				return plugin{}, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: "spec.config", Err: err}}
			}
			b, _ := json.Marshal(v) // canonical: sorted keys, no spaces
			configuration = string(b)
		}
	}
	name := PluginECDSName(key)
	rootID := w.Spec.RootID
	p := plugin{
		key: key, gen: w.Metadata.Generation, phase: w.Spec.EffectivePhase(), priority: w.Spec.Priority,
		// Envoy builds a Wasm filter at once, and so can refuse a config the plugin rejects
		// (a NACK naming it), only when it holds the module; fetching it is asynchronous and
		// a failure then goes unreported. So on a cache miss Envoy refuses the config and
		// fetches the module, and the xDS server pushes it again (see WithAttempt).
		config: wasmConfig(name, rootID, name, moduleCode(opts, w.Spec.Module.SHA256), configuration, w.Spec.EffectiveFailurePolicy(), true),
	}
	if len(w.Spec.Selector.Services) > 0 {
		p.services = slices.Sorted(slices.Values(w.Spec.Selector.Services))
	}
	return p, nil
}

func joinErrs(errs []error) error {
	return errors.Join(slices.DeleteFunc(errs, func(e error) bool { return e == nil })...)
}
