package canary

import (
	"errors"
	"github.com/wasmesh/wasmesh/sdk/config"

	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/match"
	"github.com/wasmesh/wasmesh/sdk/metrics"
	"github.com/wasmesh/wasmesh/sdk/split"
)

// RoutingHeader is the request header the outbound route takes the cluster from
// (docs/conventions.md).
const RoutingHeader = sdk.RoutingHeader

// Filter is a compiled canary configuration.
type Filter struct {
	policies config.PerService[*policy]
	requests *metrics.Vec // wasmesh_canary_requests_total{service,version}
}

type policy struct {
	weighted       *split.Weighted
	overrides      []override
	stickyHeader   string
	stickyCookie   string
	responseHeader string
}

type override struct {
	matcher *match.Matcher
	version string
}

// New compiles cfg (already validated by ParseConfig).
func New(cfg Config) (*Filter, error) {
	f := &Filter{requests: metrics.NewVec(metrics.Counter, "wasmesh_canary_requests_total", "service", "version")}
	var errs []error
	compile := func(p Policy) *policy {
		cp := &policy{responseHeader: p.ResponseHeader}
		if len(p.Weights) > 0 {
			cp.weighted = split.New(p.Weights)
		}
		for _, o := range p.Overrides {
			m, err := match.Compile(o.Match)
			errs = append(errs, err)
			cp.overrides = append(cp.overrides, override{matcher: m, version: o.Version})
		}
		if p.Sticky != nil {
			cp.stickyHeader, cp.stickyCookie = p.Sticky.Header, p.Sticky.Cookie
		}
		return cp
	}
	f.policies = config.CompilePerService(cfg.Policy, cfg.Services, compile)
	return f, errors.Join(errs...)
}

// How tells how a version was chosen.
type How uint8

// The ways a version is chosen.
const (
	ByNone     How = iota // no policy, or the routing header was already set
	ByOverride            // an override matched
	BySticky              // the sticky key hashed onto the weights
	ByRandom              // a random draw by the weights
	ByNothing             // the policy has no weights and no override matched
)

// Decision is the canary's choice for one request.
type Decision struct {
	How            How
	Service        string
	Version        string
	Cluster        string // routing header value to set ("" none)
	ResponseHeader string // response header reporting Version ("" none)
}

// Decide chooses the version for r. routed is the current value of the routing header (set by
// the router): then the canary leaves it.
func (f *Filter) Decide(r *sdk.Request, routed string) Decision {
	d := Decision{Service: r.Service()}
	p, ok := f.policies.For(d.Service)
	if !ok {
		return d
	}
	if routed != "" {
		return d
	}
	d.ResponseHeader = p.responseHeader
	for i := range p.overrides {
		if p.overrides[i].matcher.Matches(r) {
			d.How, d.Version = ByOverride, p.overrides[i].version
			d.Cluster = d.Service + "|" + d.Version
			return d
		}
	}
	if p.weighted == nil {
		d.How, d.ResponseHeader = ByNothing, ""
		return d
	}
	var key string
	switch {
	case p.stickyHeader != "":
		key, ok = r.Headers.Get(p.stickyHeader)
	case p.stickyCookie != "":
		key, ok = r.Cookie(p.stickyCookie)
	}
	if ok && key != "" {
		d.How, d.Version = BySticky, p.weighted.PickKey(key)
	} else {
		d.How, d.Version = ByRandom, p.weighted.PickRandom()
	}
	d.Cluster = d.Service + "|" + d.Version
	return d
}
