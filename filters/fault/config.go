package fault

import (
	"time"

	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// RootID is the fault filter's root_id in the bundle module.
const RootID = "fault"

// DefaultTriggerHeader is the trigger header's name unless configured.
const DefaultTriggerHeader = "x-wasmesh-fault"

// MaxDelay bounds configured delays.
const MaxDelay = time.Hour

// DefaultTriggerMaxDelay caps a triggered delay unless triggerHeader.maxDelay says otherwise:
// well under Envoy's default route timeout (15s), so a trigger never holds a caller's
// connection for long.
const DefaultTriggerMaxDelay = time.Second

// Config is the fault filter's configuration: one Policy for every request, or a per-service
// map.
type Config struct {
	Policy
	Services map[string]Policy `json:"services,omitzero"`
}

// Policy is the fault policy of one service.
type Policy struct {
	Rules           []Rule         `json:"rules,omitempty"`
	TriggerHeader   *TriggerHeader `json:"triggerHeader,omitempty"`
	MaxActiveDelays int            `json:"maxActiveDelays,omitempty"`
}

// Rule injects a delay, an abort or both into the requests its Match selects.
type Rule struct {
	Name  string     `json:"name,omitempty"`
	Match match.Spec `json:"match,omitzero"`
	Delay *Delay     `json:"delay,omitempty"`
	Abort *Abort     `json:"abort,omitempty"`
}

// Delay pauses Percentage percent of the requests for Fixed (a Go duration string).
type Delay struct {
	Fixed      string   `json:"fixed"`
	Percentage *float64 `json:"percentage,omitempty"` // default 100
}

// Abort answers Percentage percent of the requests locally: plain requests with HTTPStatus,
// gRPC requests with GRPCStatus (HTTP 200 + grpc-status), or HTTPStatus when GRPCStatus is
// not set.
type Abort struct {
	HTTPStatus int      `json:"httpStatus,omitempty"`
	GRPCStatus *int     `json:"grpcStatus,omitempty"`
	Percentage *float64 `json:"percentage,omitempty"` // default 100
}

// TriggerHeader configures the header that forces a fault on one request. It is off unless
// enabled (an empty config honours no trigger header).
type TriggerHeader struct {
	Enabled *bool  `json:"enabled,omitempty"` // default false
	Name    string `json:"name,omitempty"`    // default x-wasmesh-fault
	// Callers, when set, are the only services whose sidecars honour the header (the fault
	// filter runs in the calling sidecar: its node metadata names the caller).
	Callers []string `json:"callers,omitempty"`
	// MaxDelay caps a triggered delay (a Go duration, default 1s, at most MaxDelay).
	MaxDelay string `json:"maxDelay,omitempty"`
}

// ParseConfig parses and validates the fault filter's JSON configuration strictly; every
// problem is reported with its JSON path, joined with errors.Join.
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
	if to, ok := o.Object("triggerHeader"); ok {
		p.TriggerHeader = &TriggerHeader{}
		var b bool
		if to.Bool("enabled", &b) {
			p.TriggerHeader.Enabled = &b
		}
		if nv, ok := to.Get("name"); ok {
			if s, ok := nv.String(); ok {
				p.TriggerHeader.Name = s
				if err := match.CheckHeaderName(s); err != nil {
					nv.Errorf("%v", err)
				}
			}
		}
		to.Strings("callers", &p.TriggerHeader.Callers)
		if dv, ok := to.Get("maxDelay"); ok {
			if dur, ok := dv.Duration(); ok {
				p.TriggerHeader.MaxDelay, _ = dv.String()
				if dur <= 0 || dur > MaxDelay {
					dv.Errorf("want a duration above 0 and at most %v, got %v", MaxDelay, dur)
				}
			}
		}
		to.Close()
	}
	if mv, ok := o.Get("maxActiveDelays"); ok {
		if n, ok := mv.Int(); ok {
			if n < 0 {
				mv.Errorf("must be 0 (no cap) or more, got %d", n)
			}
			p.MaxActiveDelays = n
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
	if d, ok := o.Object("delay"); ok {
		r.Delay = &Delay{}
		if fv, ok := d.Get("fixed"); ok {
			if dur, ok := fv.Duration(); ok {
				r.Delay.Fixed, _ = fv.String()
				if dur <= 0 || dur > MaxDelay {
					fv.Errorf("want a duration above 0 and at most %v, got %v", MaxDelay, dur)
				}
			}
		} else {
			d.Errorf("fixed: required")
		}
		r.Delay.Percentage = decodePercentage(d)
		d.Close()
	}
	if a, ok := o.Object("abort"); ok {
		r.Abort = &Abort{}
		if hv, ok := a.Get("httpStatus"); ok {
			if n, ok := hv.Int(); ok {
				r.Abort.HTTPStatus = n
				if n < 200 || n > 599 {
					hv.Errorf("want an HTTP status 200..599, got %d", n)
				}
			}
		}
		if gv, ok := a.Get("grpcStatus"); ok {
			if n, ok := gv.Int(); ok {
				r.Abort.GRPCStatus = &n
				if n < 0 || n > 16 {
					gv.Errorf("want a gRPC status 0..16, got %d", n)
				}
			}
		}
		if !a.Has("httpStatus") && !a.Has("grpcStatus") {
			a.Errorf("want httpStatus, grpcStatus or both")
		}
		r.Abort.Percentage = decodePercentage(a)
		a.Close()
	}
	if r.Delay == nil && r.Abort == nil {
		o.Errorf("want delay, abort or both")
	}
	o.Close()
	return r
}

func decodePercentage(o config.Object) *float64 {
	v, ok := o.Get("percentage")
	if !ok {
		return nil
	}
	f, ok := v.Number()
	if !ok {
		return nil
	}
	if f < 0 || f > 100 {
		v.Errorf("want a percentage 0..100, got %v", f)
	}
	return &f
}
