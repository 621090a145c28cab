package translate

import (
	"cmp"
	"slices"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsinspector "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
)

// Security resource names (docs/security.md).
const (
	// SecretIdentity is the SDS secret holding a sidecar's own certificate and key (each
	// node gets its own under this one name).
	SecretIdentity = "wasmesh.identity"
	// SecretCA is the SDS secret holding the mesh CA bundle peers are verified against.
	SecretCA = "wasmesh.ca"
	// FilterAuthz is the authorization filter on every sidecar's inbound listener.
	FilterAuthz = ir.FilterAuthz
	// AuthzFile is the standalone authz module's file name among the built-in modules.
	AuthzFile = "authz.wasm"
	// Inbound filter chain names.
	ChainMTLS      = "mtls"
	ChainPlaintext = "plaintext"
	// DefaultTrustDomain is the SPIFFE trust domain unless Options.TrustDomain says otherwise.
	DefaultTrustDomain = ca.DefaultTrustDomain
)

// Namespace returns the namespace of a Service of the mesh (DefaultNamespace when unknown).
func (m *Mesh) Namespace(service string) string {
	if ns, ok := m.namespaces[service]; ok {
		return ns
	}
	return crd.DefaultNamespace
}

// Mode returns the transport mode of a Service's inbound (DISABLE when unknown).
func (m *Mesh) Mode(service string) string {
	if mode, ok := m.modes[service]; ok {
		return mode
	}
	return crd.ModeDisable
}

// WithSecrets returns the resources with a node's SDS secrets.
func (r *Resources) WithSecrets(secrets []*tlsv3.Secret) *Resources {
	out := *r
	out.Secrets = secrets
	return &out
}

func (o Options) trustDomain() string {
	if o.TrustDomain == "" {
		return DefaultTrustDomain
	}
	return o.TrustDomain
}

// sdsConfig is an SDS reference to a secret on the ADS stream.
func sdsConfig(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: adsSource()}
}

// upstreamTLS is the transport socket of a caller's cluster towards a Service that is not
// DISABLE: mTLS with the caller's identity, the server verified against the mesh CA and its
// SPIFFE ID.
func upstreamTLS(spiffeID string) *core.TransportSocket {
	ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sdsConfig(SecretIdentity)},
		ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
			DefaultValidationContext: &tlsv3.CertificateValidationContext{
				MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{
					SanType: tlsv3.SubjectAltNameMatcher_URI,
					Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: spiffeID}},
				}},
			},
			ValidationContextSdsSecretConfig: sdsConfig(SecretCA),
		}},
	}}
	return &core.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &core.TransportSocket_TypedConfig{TypedConfig: mustAny(ctx)}}
}

// The inbound mTLS chain's transport socket and the TLS inspector are the same for every node:
// built once, shared by every inbound listener and never modified.
var (
	mtlsSocket   = downstreamTLS()
	tlsInspector = &listener.ListenerFilter{
		Name:       "envoy.filters.listener.tls_inspector",
		ConfigType: &listener.ListenerFilter_TypedConfig{TypedConfig: mustAny(&tlsinspector.TlsInspector{})},
	}
)

// downstreamTLS is the transport socket of the inbound mTLS filter chain: the sidecar's
// identity, a client certificate required and verified against the mesh CA (any mesh
// identity; the authz filter decides by it).
func downstreamTLS() *core.TransportSocket {
	ctx := &tlsv3.DownstreamTlsContext{
		RequireClientCertificate: wrapperspb.Bool(true),
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sdsConfig(SecretIdentity)},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
				ValidationContextSdsSecretConfig: sdsConfig(SecretCA),
			},
		},
	}
	return &core.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &core.TransportSocket_TypedConfig{TypedConfig: mustAny(ctx)}}
}

// secureClusters gives the endpoints clusters (m.clusters, sorted by name) of every Service
// that is not DISABLE (m.modes) the upstream mTLS socket (the aggregate clusters have no
// connections of their own).
func (m *Mesh) secureClusters(services []*crd.Service, opts Options) {
	for _, s := range services {
		name := s.Metadata.Name
		if m.Mode(name) == crd.ModeDisable {
			continue
		}
		id := ca.SPIFFEID(opts.trustDomain(), m.Namespace(name), name)
		for _, v := range s.Spec.Versions {
			cname := EndpointsCluster(name, v.Name)
			i, ok := slices.BinarySearchFunc(m.clusters, cname, func(c *cluster.Cluster, n string) int { return cmp.Compare(c.Name, n) })
			if ok {
				m.clusters[i].TransportSocket = upstreamTLS(id)
			}
		}
	}
}

// inboundChains returns the inbound listener's filter chains and listener filters for a
// transport mode, each chain running the same HTTP connection manager (network filters).
// STRICT and PERMISSIVE share the mtls chain unchanged (TLS inspector, transport protocol
// "tls"), so switching between them adds or removes the plaintext chain only: Envoy updates
// the filter chains in place and mesh connections, on the mtls chain, are not drained.
func inboundChains(mode string, filters []*listener.Filter) ([]*listener.FilterChain, []*listener.ListenerFilter) {
	if mode == crd.ModeDisable {
		return []*listener.FilterChain{{Filters: filters}}, nil
	}
	chains := []*listener.FilterChain{{
		Name:             ChainMTLS,
		FilterChainMatch: &listener.FilterChainMatch{TransportProtocol: "tls"},
		Filters:          filters,
		TransportSocket:  mtlsSocket,
	}}
	if mode == crd.ModePermissive {
		chains = append(chains, &listener.FilterChain{
			Name:             ChainPlaintext,
			FilterChainMatch: &listener.FilterChainMatch{TransportProtocol: "raw_buffer"},
			Filters:          filters,
		})
	}
	return chains, []*listener.ListenerFilter{tlsInspector}
}

// IdentitySecrets returns a node's SDS secrets: its certificate chain and key under
// SecretIdentity, the CA bundle under SecretCA.
func IdentitySecrets(certPEM, keyPEM, bundlePEM []byte) []*tlsv3.Secret {
	inline := func(b []byte) *core.DataSource {
		return &core.DataSource{Specifier: &core.DataSource_InlineBytes{InlineBytes: b}}
	}
	return []*tlsv3.Secret{
		{Name: SecretCA, Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa: inline(bundlePEM),
		}}},
		{Name: SecretIdentity, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
			CertificateChain: inline(certPEM),
			PrivateKey:       inline(keyPEM),
		}}},
	}
}

// ownSource is a resource that shapes some nodes only (the ones of a Service it selects).
type ownSource struct {
	key crd.Key
	src Source
}

// authzSources returns, per Service, the AuthorizationPolicies that select it (the IR's
// grouping: by its spec.services, or every Service of its namespace), each with its source:
// only those Services' inbound listeners carry the authz filter.
func authzSources(set *crd.Set, policies *ir.Mesh) map[string][]ownSource {
	byKey := make(map[crd.Key]Source, len(set.AuthorizationPolicies))
	for _, a := range set.AuthorizationPolicies {
		byKey[crd.KeyOf(a)] = source(a, []string{TypeExtensionConfigs, TypeListeners})
	}
	out := map[string][]ownSource{}
	for name, s := range policies.Services {
		for _, p := range s.Authz {
			out[name] = append(out[name], ownSource{key: p.From.Key, src: byKey[p.From.Key]})
		}
	}
	return out
}

// authzFilterConfig is the ECDS config of the inbound authz filter: the bundle under root_id
// authz (vm_id wasmesh, the VM the outbound pipeline runs in), else the standalone
// authz.wasm; nil without either (no modules: nothing enforces AuthorizationPolicies).
func authzFilterConfig(policies *ir.Mesh, opts Options) (*core.TypedExtensionConfig, error) {
	sha, vmID := opts.Builtins[BundleFile], BundleVMID
	if sha == "" {
		sha, vmID = opts.Builtins[AuthzFile], ECDSName(FilterAuthz)
	}
	if sha == "" {
		return nil, nil
	}
	cfg, err := policies.AuthzConfig()
	if err != nil {
		return nil, err
	}
	return wasmConfig(ECDSName(FilterAuthz), FilterAuthz, vmID, moduleCode(opts, sha), string(cfg), crd.FailureClosed, false), nil
}
