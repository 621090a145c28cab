package router

import (
	"strings"

	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// RootID is the router's root_id in the bundle module.
const RootID = "router"

// Config is the router's configuration: one Policy for every request, or a per-service map.
type Config struct {
	Policy
	Services map[string]Policy `json:"services,omitzero"`
}

// Policy is the routing policy of one service.
type Policy struct {
	Rules          []Rule `json:"rules,omitempty"`
	DefaultVersion string `json:"defaultVersion,omitempty"`
}

// Rule is one routing rule; the first whose Match holds applies.
type Rule struct {
	Name           string       `json:"name,omitempty"`
	Match          match.Spec   `json:"match,omitzero"`
	Destination    *Destination `json:"destination,omitempty"`
	RequestHeaders *HeaderEdits `json:"requestHeaders,omitempty"`
	Rewrite        *Rewrite     `json:"rewrite,omitempty"`
}

// Destination names the version (and optionally another service) a rule routes to.
type Destination struct {
	Service string `json:"service,omitempty"` // default: the request's service
	Version string `json:"version"`
}

// HeaderEdits changes request headers: Add sets each header (replacing a present value),
// Remove deletes headers.
type HeaderEdits struct {
	Add    map[string]string `json:"add,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// Rewrite replaces the matched path prefix (or "/") with PathPrefix.
type Rewrite struct {
	PathPrefix string `json:"pathPrefix"`
}

// ParseConfig parses and validates the router's JSON configuration strictly; every problem is
// reported with its JSON path, joined with errors.Join.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	var err error
	cfg.Policy, cfg.Services, err = config.ParseServices(data, decodePolicy)
	return cfg, err
}

func decodePolicy(o config.Object) Policy {
	var p Policy
	if rules, ok := o.Array("rules"); ok {
		for _, rv := range rules {
			p.Rules = append(p.Rules, decodeRule(rv))
		}
	}
	if v, ok := o.Get("defaultVersion"); ok {
		if s, ok := v.String(); ok {
			if s != "" {
				if err := config.CheckName(s); err != nil {
					v.Errorf("%v", err)
				}
			}
			p.DefaultVersion = s
		}
	}
	o.Close()
	return p
}

func decodeRule(v config.Value) Rule {
	var r Rule
	o, ok := v.Object()
	if !ok {
		return r
	}
	o.String("name", &r.Name)
	if mv, ok := o.Get("match"); ok {
		r.Match = match.Decode(mv)
	}
	if d, ok := o.Object("destination"); ok {
		r.Destination = &Destination{}
		if sv, ok := d.Get("service"); ok {
			if s, ok := sv.String(); ok {
				r.Destination.Service = s
				if err := config.CheckName(s); err != nil {
					sv.Errorf("%v", err)
				}
			}
		}
		if vv, ok := d.Get("version"); ok {
			if s, ok := vv.String(); ok {
				r.Destination.Version = s
				if err := config.CheckName(s); err != nil {
					vv.Errorf("%v", err)
				}
			}
		} else {
			d.Errorf("version: required")
		}
		d.Close()
	}
	if h, ok := o.Object("requestHeaders"); ok {
		r.RequestHeaders = decodeEdits(h)
	}
	if rw, ok := o.Object("rewrite"); ok {
		r.Rewrite = &Rewrite{}
		if pv, ok := rw.Get("pathPrefix"); ok {
			if s, ok := pv.String(); ok {
				r.Rewrite.PathPrefix = s
				if !strings.HasPrefix(s, "/") {
					pv.Errorf("must start with /, got %q", s)
				}
			}
		} else {
			rw.Errorf("pathPrefix: required")
		}
		rw.Close()
	}
	o.Close()
	return r
}

func decodeEdits(o config.Object) *HeaderEdits {
	e := &HeaderEdits{}
	if add, ok := o.Object("add"); ok {
		e.Add = map[string]string{}
		add.Each(func(name string, v config.Value) {
			if err := checkEditable(name); err != nil {
				v.Errorf("%v", err)
			}
			if s, ok := v.String(); ok {
				e.Add[name] = s
			}
		})
	}
	if rm, ok := o.Array("remove"); ok {
		for _, v := range rm {
			if s, ok := v.String(); ok {
				if err := checkEditable(s); err != nil {
					v.Errorf("%v", err)
				}
				e.Remove = append(e.Remove, s)
			}
		}
	}
	o.Close()
	return e
}

// checkEditable refuses header names a rule must not touch: pseudo-headers, the routing
// header (only the destination sets it), and names that are not lowercase.
func checkEditable(name string) error {
	if strings.HasPrefix(name, ":") {
		return errPseudo
	}
	if name == RoutingHeader {
		return errRouting
	}
	return match.CheckHeaderName(name)
}
