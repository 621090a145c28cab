package canary

import (
	"slices"

	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// RootID is the canary's root_id in the bundle module.
const RootID = "canary"

// Config is the canary's configuration: one Policy for every request, or a per-service map.
type Config struct {
	Policy
	Services map[string]Policy `json:"services,omitzero"`
}

// Policy is the split of one service.
type Policy struct {
	Weights        map[string]int `json:"weights,omitempty"`
	Overrides      []Override     `json:"overrides,omitempty"`
	Sticky         *Sticky        `json:"sticky,omitempty"`
	ResponseHeader string         `json:"responseHeader,omitempty"`
}

// Override sends the requests its Match selects to Version.
type Override struct {
	Match   match.Spec `json:"match"`
	Version string     `json:"version"`
}

// Sticky names the request value hashed onto the weights: a header or a cookie (exactly one).
type Sticky struct {
	Header string `json:"header,omitempty"`
	Cookie string `json:"cookie,omitempty"`
}

// ParseConfig parses and validates the canary's JSON configuration strictly; every problem is
// reported with its JSON path, joined with errors.Join.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	var err error
	cfg.Policy, cfg.Services, err = config.ParseServices(data, decodePolicy)
	return cfg, err
}

func decodePolicy(o config.Object) Policy {
	var p Policy
	if wo, ok := o.Object("weights"); ok {
		p.Weights = map[string]int{}
		sum := 0
		wo.Each(func(version string, v config.Value) {
			if err := config.CheckName(version); err != nil {
				v.Errorf("version name: %v", err)
			}
			n, ok := v.Int()
			if !ok {
				return
			}
			if n < 0 || n > 100 {
				v.Errorf("weight %d out of range 0..100", n)
				return
			}
			p.Weights[version] = n
			sum += n
		})
		switch {
		case wo.Len() == 0:
			wo.Errorf("want at least one version")
		case sum != 100 && len(p.Weights) == wo.Len():
			wo.Errorf("weights sum to %d, want 100", sum)
		}
	}
	if ovs, ok := o.Array("overrides"); ok {
		for _, ov := range ovs {
			oo, ok := ov.Object()
			if !ok {
				continue
			}
			var r Override
			if mv, ok := oo.Get("match"); ok {
				r.Match = match.Decode(mv)
			}
			if vv, ok := oo.Get("version"); ok {
				if s, ok := vv.String(); ok {
					r.Version = s
					if err := config.CheckName(s); err != nil {
						vv.Errorf("%v", err)
					} else if p.Weights != nil {
						if _, known := p.Weights[s]; !known {
							vv.Errorf("version %q is not in weights (%v)", s, versions(p.Weights))
						}
					}
				}
			} else {
				oo.Errorf("version: required")
			}
			oo.Close()
			p.Overrides = append(p.Overrides, r)
		}
	}
	if so, ok := o.Object("sticky"); ok {
		p.Sticky = &Sticky{}
		n := 0
		if sv, ok := so.Get("header"); ok {
			if s, ok := sv.String(); ok {
				n++
				p.Sticky.Header = s
				if err := match.CheckHeaderName(s); err != nil {
					sv.Errorf("%v", err)
				}
			}
		}
		if cv, ok := so.Get("cookie"); ok {
			if s, ok := cv.String(); ok {
				n++
				p.Sticky.Cookie = s
				if s == "" {
					cv.Errorf("must not be empty")
				}
			}
		}
		if n != 1 {
			so.Errorf("want exactly one of header, cookie")
		}
		so.Close()
	}
	if rv, ok := o.Get("responseHeader"); ok {
		if s, ok := rv.String(); ok {
			p.ResponseHeader = s
			if err := match.CheckHeaderName(s); err != nil {
				rv.Errorf("%v", err)
			}
		}
	}
	o.Close()
	return p
}

func versions(w map[string]int) []string {
	out := make([]string, 0, len(w))
	for v := range w {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
