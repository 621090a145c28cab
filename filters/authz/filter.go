package authz

import (
	"errors"
	"strings"

	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
	"github.com/wasmesh/wasmesh/sdk/metrics"
)

// Filter is a compiled authz configuration.
type Filter struct {
	policies config.PerService[*policySet]
	requests *metrics.Vec // wasmesh_authz_requests_total{service,policy,decision}
	service  string       // the sidecar's own Service (SetNode)
}

type policySet struct {
	deny, allow []*compiled
	allowNames  string // the ALLOW policies' names, for the body of a denial by none
}

type compiled struct {
	name  string
	rules []compiledRule
}

type compiledRule struct {
	principals []Principal
	matcher    *match.Matcher
}

var (
	_ sdk.NodeAware       = (*Filter)(nil)
	_ sdk.ConnectionAware = (*Filter)(nil)
)

// New compiles cfg (already validated by ParseConfig).
func New(cfg Config) (*Filter, error) {
	f := &Filter{requests: metrics.NewVec(metrics.Counter, "wasmesh_authz_requests_total", "service", "policy", "decision")}
	var errs []error
	f.policies = config.CompilePerService(cfg.Policy, cfg.Services, func(p Policy) *policySet {
		ps := &policySet{}
		var allow []string
		for _, spec := range p.Policies {
			c := &compiled{name: spec.Name}
			for _, r := range spec.Rules {
				m, err := match.Compile(r.Match)
				errs = append(errs, err)
				c.rules = append(c.rules, compiledRule{principals: r.Principals, matcher: m})
			}
			if spec.Action == Deny {
				ps.deny = append(ps.deny, c)
			} else {
				ps.allow = append(ps.allow, c)
				allow = append(allow, spec.Name)
			}
		}
		ps.allowNames = strings.Join(allow, ", ")
		return ps
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// SetNode tells the filter which Service's sidecar it runs in: its policies are that
// Service's.
func (f *Filter) SetNode(service, _ string) { f.service = service }

// WantsConnection implements sdk.ConnectionAware: the filter decides on the caller's
// certificate.
func (f *Filter) WantsConnection() bool { return true }

// Verdict is the filter's decision on one request.
type Verdict struct {
	Allowed bool
	// Policy names the deciding policy: the DENY policy that matched, the ALLOW policy that
	// matched, or (denied by none) the ALLOW policies; "" when no policy selects the Service.
	Policy string
}

// Decide applies the Service's policies to a request: DENY first; then, when ALLOW policies
// exist, one must match.
func (f *Filter) Decide(r *sdk.Request) Verdict {
	ps, ok := f.policies.For(f.service)
	if !ok || ps == nil {
		return Verdict{Allowed: true}
	}
	for _, p := range ps.deny {
		if p.matches(r) {
			return Verdict{Policy: p.name}
		}
	}
	if len(ps.allow) == 0 {
		return Verdict{Allowed: true}
	}
	for _, p := range ps.allow {
		if p.matches(r) {
			return Verdict{Allowed: true, Policy: p.name}
		}
	}
	return Verdict{Policy: ps.allowNames}
}

func (p *compiled) matches(r *sdk.Request) bool {
	for _, rule := range p.rules {
		if rule.matches(r) {
			return true
		}
	}
	return false
}

func (rule *compiledRule) matches(r *sdk.Request) bool {
	if len(rule.principals) > 0 {
		id := r.Connection.PeerURISAN
		if !r.Connection.MTLS || id == "" {
			return false
		}
		found := false
		for _, p := range rule.principals {
			if (p.Exact != "" && id == p.Exact) || (p.Prefix != "" && strings.HasPrefix(id, p.Prefix)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return rule.matcher.Matches(r)
}
