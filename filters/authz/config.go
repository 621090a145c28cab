package authz

import (
	"strings"

	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// RootID is the authz filter's root_id in the bundle module.
const RootID = "authz"

// Actions of a policy.
const (
	Allow = "ALLOW"
	Deny  = "DENY"
)

// Config is the authz filter's configuration: one Policy set for every request, or a
// per-service map keyed by the sidecar's own Service (node metadata).
type Config struct {
	Policy
	Services map[string]Policy `json:"services,omitzero"`
}

// Policy is the authorization of one Service: its policies, in order.
type Policy struct {
	Policies []PolicySpec `json:"policies,omitempty"`
}

// PolicySpec is one authorization policy: it matches a request any of its rules matches.
type PolicySpec struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	Rules  []Rule `json:"rules"`
}

// Rule matches a request whose caller matches one of Principals (none: any caller, plaintext
// included) and that Match selects.
type Rule struct {
	Principals []Principal `json:"principals,omitempty"`
	Match      match.Spec  `json:"match,omitzero"`
}

// Principal matches the caller's SPIFFE ID exactly or by prefix (exactly one is set). A
// caller without a verified certificate matches no Principal.
type Principal struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

// ParseConfig parses and validates the authz filter's JSON configuration strictly; every
// problem is reported with its JSON path, joined with errors.Join.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	var err error
	cfg.Policy, cfg.Services, err = config.ParseServices(data, decodePolicy)
	return cfg, err
}

// ParsePolicySpec parses one policy (an element of `policies`) strictly; its problems carry
// their paths inside the policy. The control plane checks each AuthorizationPolicy with it.
func ParsePolicySpec(data []byte) (PolicySpec, error) { return config.ParseOne(data, decodeSpec) }

func decodePolicy(o config.Object) Policy {
	var p Policy
	if arr, ok := o.Array("policies"); ok {
		for _, v := range arr {
			p.Policies = append(p.Policies, decodeSpec(v))
		}
	}
	o.Close()
	return p
}

func decodeSpec(v config.Value) PolicySpec {
	var s PolicySpec
	o, ok := v.Object()
	if !ok {
		return s
	}
	if !o.String("name", &s.Name) && !o.Has("name") {
		o.Errorf("name: required")
	} else if s.Name == "" && o.Has("name") {
		o.Errorf("name: must not be empty")
	}
	if av, ok := o.Get("action"); ok {
		if a, ok := av.String(); ok {
			s.Action = a
			if a != Allow && a != Deny {
				av.Errorf("want %s or %s, got %q", Allow, Deny, a)
			}
		}
	} else {
		o.Errorf("action: required (%s or %s)", Allow, Deny)
	}
	rules, ok := o.Array("rules")
	if !ok || len(rules) == 0 {
		if !o.Has("rules") || ok {
			o.Errorf("rules: at least one rule is required")
		}
	}
	for _, rv := range rules {
		s.Rules = append(s.Rules, decodeRule(rv))
	}
	o.Close()
	return s
}

func decodeRule(v config.Value) Rule {
	var r Rule
	o, ok := v.Object()
	if !ok {
		return r
	}
	if arr, ok := o.Array("principals"); ok {
		for _, pv := range arr {
			po, ok := pv.Object()
			if !ok {
				continue
			}
			var p Principal
			hasE, hasP := po.String("exact", &p.Exact), po.String("prefix", &p.Prefix)
			switch {
			case hasE == hasP:
				po.Errorf("want exactly one of exact, prefix")
			case hasE && !strings.HasPrefix(p.Exact, "spiffe://"), hasP && !strings.HasPrefix(p.Prefix, "spiffe://"):
				po.Errorf("a principal is a SPIFFE ID (spiffe://...)")
			}
			po.Close()
			r.Principals = append(r.Principals, p)
		}
	}
	if mv, ok := o.Get("match"); ok {
		r.Match = match.Decode(mv)
	}
	o.Close()
	return r
}
