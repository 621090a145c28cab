package crd

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wasmesh/wasmesh/filters/authz"
)

// Transport modes of a TransportPolicy (docs/security.md).
const (
	// ModeStrict: a sidecar's inbound accepts only mTLS from a client certificate of the mesh CA.
	ModeStrict = "STRICT"
	// ModePermissive: a sidecar's inbound accepts mTLS and plaintext (callers still originate mTLS).
	ModePermissive = "PERMISSIVE"
	// ModeDisable: plaintext; callers do not originate mTLS to the Service.
	ModeDisable = "DISABLE"
)

// Authorization actions of an AuthorizationPolicy: the authz filter's, which the IR passes
// to it as they are.
const (
	ActionAllow = authz.Allow
	ActionDeny  = authz.Deny
)

// ---------------------------------------------------------------------------------------------
// TransportPolicy

// TransportPolicy is the transport security of Services' inbound traffic (Istio's
// PeerAuthentication): one without services is the mesh-wide default; one naming Services
// overrides it for them. A Service no TransportPolicy covers is DISABLE (plaintext).
type TransportPolicy struct {
	TypeMeta
	Metadata ObjectMeta          `json:"metadata"`
	Spec     TransportPolicySpec `json:"spec"`
	Status   Status              `json:"status,omitzero"`
}

// TransportPolicySpec describes a TransportPolicy.
type TransportPolicySpec struct {
	// Services lists the Services (same namespace) this applies to; empty: every Service of
	// the mesh (the mesh-wide default; at most one).
	Services []string `json:"services,omitempty"`
	// Mode is STRICT, PERMISSIVE or DISABLE.
	Mode string `json:"mode"`
}

// ---------------------------------------------------------------------------------------------
// AuthorizationPolicy

// AuthorizationPolicy decides by the caller's verified identity which requests reach
// Services (Istio's AuthorizationPolicy): the authz filter on the Service's inbound denies
// a request any DENY policy matches; when ALLOW policies select the Service, a request
// none of them matches is denied too (403 naming the policy).
type AuthorizationPolicy struct {
	TypeMeta
	Metadata ObjectMeta              `json:"metadata"`
	Spec     AuthorizationPolicySpec `json:"spec"`
	Status   Status                  `json:"status,omitzero"`
}

// AuthorizationPolicySpec describes an AuthorizationPolicy.
type AuthorizationPolicySpec struct {
	// Services lists the Services (same namespace) whose inbound enforces this policy; empty:
	// every Service of the namespace.
	Services []string `json:"services,omitempty"`
	// Action is ALLOW or DENY.
	Action string `json:"action"`
	// Rules: the policy matches a request that any rule matches (at least one rule).
	Rules []AuthorizationRule `json:"rules"`
}

// AuthorizationRule matches a request when its caller matches one of From (or From is
// empty: any caller, plaintext included) and the request matches Match (absent: any request).
type AuthorizationRule struct {
	From  []Caller `json:"from,omitempty"`
	Match *Match   `json:"match,omitempty"`
}

// Caller identifies callers by the SPIFFE ID of their client certificate: a Service (in
// Namespace, default the policy's), every Service of a Namespace, or a SPIFFE ID as written.
// A plaintext caller has no identity and matches no Caller.
type Caller struct {
	Service   string `json:"service,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	SPIFFEID  string `json:"spiffeID,omitempty"`
}

var spiffeRE = regexp.MustCompile(`^spiffe://[a-z0-9.-]+(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$`)

func (v *validator) transportPolicy(s *TransportPolicySpec) {
	v.serviceList("spec.services", s.Services)
	switch s.Mode {
	case ModeStrict, ModePermissive, ModeDisable:
	case "":
		v.fail("spec.mode", "required: %s, %s or %s", ModeStrict, ModePermissive, ModeDisable)
	default:
		hint := ""
		if u := strings.ToUpper(s.Mode); u == ModeStrict || u == ModePermissive || u == ModeDisable {
			hint = fmt.Sprintf(" (did you mean %s?)", u)
		}
		v.fail("spec.mode", "%q must be %s, %s or %s%s", s.Mode, ModeStrict, ModePermissive, ModeDisable, hint)
	}
}

func (v *validator) authorizationPolicy(s *AuthorizationPolicySpec) {
	v.serviceList("spec.services", s.Services)
	switch s.Action {
	case ActionAllow, ActionDeny:
	case "":
		v.fail("spec.action", "required: %s or %s", ActionAllow, ActionDeny)
	default:
		v.fail("spec.action", "%q must be %s or %s", s.Action, ActionAllow, ActionDeny)
	}
	if len(s.Rules) == 0 {
		v.fail("spec.rules", "at least one rule is required (a rule with neither from nor match matches every request)")
	}
	for i, r := range s.Rules {
		p := fmt.Sprintf("spec.rules[%d]", i)
		for j, c := range r.From {
			cp := fmt.Sprintf("%s.from[%d]", p, j)
			switch {
			case c.SPIFFEID != "" && (c.Service != "" || c.Namespace != ""):
				v.fail(cp, "spiffeID names the caller whole: drop service and namespace")
			case c.SPIFFEID != "":
				if !spiffeRE.MatchString(c.SPIFFEID) {
					v.fail(cp+".spiffeID", "%q is not a SPIFFE ID such as spiffe://wasmesh.local/ns/default/sa/reviews", c.SPIFFEID)
				}
			case c.Service == "" && c.Namespace == "":
				v.fail(cp, "one of service, namespace, spiffeID is required")
			default:
				if c.Service != "" {
					v.name(cp+".service", c.Service)
				}
				if c.Namespace != "" {
					v.name(cp+".namespace", c.Namespace)
				}
			}
		}
		if r.Match != nil {
			v.match(p+".match", r.Match)
		}
	}
}

// serviceList checks a list of Service names: each a name, none twice.
func (v *validator) serviceList(path string, services []string) {
	seen := map[string]bool{}
	for i, svc := range services {
		p := fmt.Sprintf("%s[%d]", path, i)
		v.name(p, svc)
		if seen[svc] {
			v.fail(p, "service %q is listed twice", svc)
		}
		seen[svc] = true
	}
}

// TransportMode returns the transport mode of a Service: the TransportPolicy naming it, else
// the mesh-wide one, else DISABLE.
func (s *Set) TransportMode(service string) string {
	mode := ModeDisable
	for _, p := range s.TransportPolicies {
		if len(p.Spec.Services) == 0 {
			mode = p.Spec.Mode
		}
	}
	for _, p := range s.TransportPolicies {
		for _, svc := range p.Spec.Services {
			if svc == service {
				return p.Spec.Mode
			}
		}
	}
	return mode
}
