package router

import (
	"errors"
	"github.com/wasmesh/wasmesh/sdk/config"

	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// RoutingHeader is the request header the outbound route takes the cluster from
// (docs/conventions.md).
const RoutingHeader = sdk.RoutingHeader

var (
	errPseudo  = errors.New("pseudo-headers cannot be edited")
	errRouting = errors.New("x-wasmesh-cluster is set by destination, not by header edits")
)

// Filter is a compiled router configuration.
type Filter struct {
	policies config.PerService[*policy]
}

type policy struct {
	rules          []rule
	defaultVersion string
}

type rule struct {
	name    string
	matcher *match.Matcher
	prefix  string // matched path prefix, replaced by rewrite ("/" when none)
	dest    *Destination
	add     [][2]string
	remove  []string
	rewrite string
	hasRW   bool
}

// New compiles cfg (already validated by ParseConfig).
func New(cfg Config) (*Filter, error) {
	f := &Filter{}
	var errs []error
	compile := func(p Policy) *policy {
		cp := &policy{defaultVersion: p.DefaultVersion}
		for _, r := range p.Rules {
			m, err := match.Compile(r.Match)
			errs = append(errs, err)
			cr := rule{name: r.Name, matcher: m, dest: r.Destination, prefix: r.Match.PathPrefix()}
			if cr.prefix == "" {
				cr.prefix = "/"
			}
			if r.RequestHeaders != nil {
				for _, k := range sortedKeys(r.RequestHeaders.Add) {
					cr.add = append(cr.add, [2]string{k, r.RequestHeaders.Add[k]})
				}
				cr.remove = r.RequestHeaders.Remove
			}
			if r.Rewrite != nil {
				cr.rewrite, cr.hasRW = r.Rewrite.PathPrefix, true
			}
			cp.rules = append(cp.rules, cr)
		}
		return cp
	}
	f.policies = config.CompilePerService(cfg.Policy, cfg.Services, compile)
	return f, errors.Join(errs...)
}

// Decision is what the router does to one request.
type Decision struct {
	Rule          string      // name of the rule that matched ("" none)
	Cluster       string      // routing header value to set, "" to leave the choice to later filters
	SetHeaders    [][2]string // headers to set (replace)
	RemoveHeaders []string
	Path          string // new :path, "" when unchanged
}

// Decide runs the policy for r. It reports ok=false when the request's service has no policy
// (the request passes through untouched). The client's routing header is removed by the plugin
// in every case where a policy applies.
func (f *Filter) Decide(r *sdk.Request) (d Decision, ok bool) {
	service := r.Service()
	p, found := f.policies.For(service)
	if !found {
		return d, false
	}
	for i := range p.rules {
		ru := &p.rules[i]
		if !ru.matcher.Matches(r) {
			continue
		}
		d.Rule = ru.name
		d.SetHeaders = ru.add
		d.RemoveHeaders = ru.remove
		if ru.hasRW {
			d.Path = rewritePath(r.Path, ru.prefix, ru.rewrite)
		}
		if ru.dest != nil {
			svc := ru.dest.Service
			if svc == "" {
				svc = service
			}
			d.Cluster = svc + "|" + ru.dest.Version
		}
		return d, true
	}
	if p.defaultVersion != "" {
		d.Cluster = service + "|" + p.defaultVersion
	}
	return d, true
}

// rewritePath replaces prefix at the start of path with repl.
func rewritePath(path, prefix, repl string) string {
	if len(path) >= len(prefix) && path[:len(prefix)] == prefix {
		return repl + path[len(prefix):]
	}
	return path
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func withoutHeader(h sdk.Headers, name string) sdk.Headers {
	out := h[:0]
	for _, kv := range h {
		if kv[0] != name {
			out = append(out, kv)
		}
	}
	return out
}
