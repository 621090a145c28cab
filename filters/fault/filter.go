package fault

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
	"github.com/wasmesh/wasmesh/sdk/metrics"
	"github.com/wasmesh/wasmesh/sdk/split"
)

// Filter is a compiled fault configuration. It also counts the streams delayed at once (per
// VM and service policy): a VM is single-threaded, so no locking.
type Filter struct {
	policies config.PerService[*policy]
	injected *metrics.Vec // wasmesh_faults_injected_total{service,kind}
	caller   string       // the sidecar's own service (SetNode)
}

type policy struct {
	rules        []rule
	trigger      string   // "" when disabled
	callers      []string // nil: every caller
	triggerDelay time.Duration
	maxActive    int
	active       int
}

var _ sdk.NodeAware = (*Filter)(nil)

// SetNode tells the filter which service's sidecar it runs in (node metadata `service`; the
// adapter calls it): a trigger header limited to callers is honoured only there.
func (f *Filter) SetNode(service, _ string) { f.caller = service }

type rule struct {
	name         string
	matcher      *match.Matcher
	delay        time.Duration
	delayPct     float64
	abort        bool
	httpStatus   int
	grpcStatus   int
	hasGRPC      bool
	abortPct     float64
	hasAbortHTTP bool
}

// New compiles cfg (already validated by ParseConfig).
func New(cfg Config) (*Filter, error) {
	f := &Filter{injected: metrics.NewVec(metrics.Counter, "wasmesh_faults_injected_total", "service", "kind")}
	var errs []error
	compile := func(p Policy) *policy {
		cp := &policy{maxActive: p.MaxActiveDelays, triggerDelay: DefaultTriggerMaxDelay}
		if t := p.TriggerHeader; t != nil && t.Enabled != nil && *t.Enabled {
			cp.trigger, cp.callers = DefaultTriggerHeader, t.Callers
			if t.Name != "" {
				cp.trigger = t.Name
			}
			if t.MaxDelay != "" {
				d, err := time.ParseDuration(t.MaxDelay)
				if err != nil {
					errs = append(errs, config.Errorf("triggerHeader.maxDelay: %w", err))
				}
				cp.triggerDelay = d
			}
		}
		for i, r := range p.Rules {
			m, err := match.Compile(r.Match)
			errs = append(errs, err)
			cr := rule{name: r.Name, matcher: m}
			if r.Delay != nil {
				d, err := time.ParseDuration(r.Delay.Fixed)
				if err != nil {
					errs = append(errs, config.Errorf("rules[%d].delay.fixed: %w", i, err))
				}
				cr.delay, cr.delayPct = d, pct(r.Delay.Percentage)
			}
			if a := r.Abort; a != nil {
				cr.abort, cr.abortPct = true, pct(a.Percentage)
				cr.httpStatus, cr.hasAbortHTTP = a.HTTPStatus, a.HTTPStatus != 0
				if a.GRPCStatus != nil {
					cr.grpcStatus, cr.hasGRPC = *a.GRPCStatus, true
				}
			}
			cp.rules = append(cp.rules, cr)
		}
		return cp
	}
	f.policies = config.CompilePerService(cfg.Policy, cfg.Services, compile)
	return f, errors.Join(errs...)
}

func pct(p *float64) float64 {
	if p == nil {
		return 100
	}
	return *p
}

// Fault is what to inject into one request.
type Fault struct {
	Rule      string        // the rule that applied ("" for the trigger header)
	Triggered bool          // forced by the trigger header
	Delay     time.Duration // 0: no delay
	Abort     bool
	Status    int // HTTP status of the local reply
	GRPC      int // grpc-status of the local reply, -1 for none
	policy    *policy
}

// Draw decides a percentage chance; tests pass a deterministic one.
type Draw func(percent float64) bool

// Decide returns the fault for r (zero Fault: none), drawing percentages at random.
func (f *Filter) Decide(r *sdk.Request) Fault { return f.DecideWith(r, split.Chance) }

// DecideWith is Decide with the given percentage draw. A malformed trigger header is ignored
// and returned as err (the plugin logs it at debug).
func (f *Filter) DecideWith(r *sdk.Request, draw Draw) Fault {
	flt, _ := f.decide(r, draw)
	return flt
}

// DecideErr is DecideWith that also reports a malformed trigger header value; a nil draw
// draws at random.
func (f *Filter) DecideErr(r *sdk.Request, draw Draw) (Fault, error) { return f.decide(r, draw) }

func (f *Filter) decide(r *sdk.Request, draw Draw) (Fault, error) {
	if draw == nil {
		draw = split.Chance
	}
	p, ok := f.policies.For(r.Service())
	if !ok {
		return Fault{}, nil
	}
	grpc := isGRPC(r)
	var triggerErr error
	if p.trigger != "" && (p.callers == nil || slices.Contains(p.callers, f.caller)) {
		if v, ok := r.Headers.Get(p.trigger); ok {
			t, err := ParseTrigger(v)
			if err == nil {
				t.policy = p
				t.Delay = min(t.Delay, p.triggerDelay)
				if t.Abort && grpc {
					t.GRPC, t.Status = grpcFromHTTP(t.Status), 200
				}
				return t, nil
			}
			triggerErr = config.Errorf("%s: %w", p.trigger, err)
		}
	}
	for i := range p.rules {
		ru := &p.rules[i]
		if !ru.matcher.Matches(r) {
			continue
		}
		flt := Fault{Rule: ru.name, GRPC: -1, policy: p}
		if ru.delay > 0 && draw(ru.delayPct) {
			flt.Delay = ru.delay
		}
		if ru.abort && draw(ru.abortPct) {
			flt.Abort = true
			switch {
			case grpc && ru.hasGRPC:
				flt.Status, flt.GRPC = 200, ru.grpcStatus
			case grpc: // httpStatus only: Envoy answers a gRPC request the gRPC way anyway
				flt.Status, flt.GRPC = 200, grpcFromHTTP(ru.httpStatus)
			case ru.hasAbortHTTP:
				flt.Status = ru.httpStatus
			default: // gRPC status only, plain request
				flt.Status = httpFromGRPC(ru.grpcStatus)
			}
		}
		return flt, triggerErr
	}
	return Fault{GRPC: -1}, triggerErr
}

// Any reports whether f injects anything.
func (f Fault) Any() bool { return f.Delay > 0 || f.Abort }

// TryDelay takes a delay slot under the policy's maxActiveDelays cap; false means the delay
// must be skipped.
func (f *Filter) TryDelay(flt Fault) bool {
	p := flt.policy
	if p == nil {
		return true
	}
	if p.maxActive > 0 && p.active >= p.maxActive {
		return false
	}
	p.active++
	return true
}

// DoneDelay releases the slot TryDelay took.
func (f *Filter) DoneDelay(flt Fault) {
	if p := flt.policy; p != nil && p.active > 0 {
		p.active--
	}
}

// Active is the number of streams delayed now (all policies).
func (f *Filter) Active() int {
	n := 0
	f.policies.Each(func(p *policy) { n += p.active })
	return n
}

// ErrTrigger is wrapped by every malformed trigger header error.
var ErrTrigger = errors.New("malformed fault trigger")

// ParseTrigger parses a trigger header value: "abort=503", "delay=200ms" or both, comma
// separated.
func ParseTrigger(v string) (Fault, error) {
	flt := Fault{Triggered: true, GRPC: -1}
	if strings.TrimSpace(v) == "" {
		return flt, config.Errorf("%w: empty", ErrTrigger)
	}
	for part := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return flt, config.Errorf("%w: %q: want key=value", ErrTrigger, part)
		}
		switch strings.TrimSpace(k) {
		case "abort":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 200 || n > 599 {
				return flt, config.Errorf("%w: abort=%s: want an HTTP status 200..599", ErrTrigger, val)
			}
			flt.Abort, flt.Status = true, n
		case "delay":
			d, err := time.ParseDuration(strings.TrimSpace(val))
			if err != nil || d <= 0 || d > MaxDelay {
				return flt, config.Errorf("%w: delay=%s: want a duration above 0 and at most %v", ErrTrigger, val, MaxDelay)
			}
			flt.Delay = d
		default:
			return flt, config.Errorf("%w: unknown key %q (want abort, delay)", ErrTrigger, k)
		}
	}
	return flt, nil
}

func isGRPC(r *sdk.Request) bool {
	ct, _ := r.Headers.Get("content-type")
	return strings.HasPrefix(ct, "application/grpc")
}

// grpcFromHTTP maps an HTTP status to a gRPC status (the gRPC HTTP-to-status mapping).
func grpcFromHTTP(status int) int {
	switch status {
	case 400:
		return 13 // INTERNAL
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return 12 // UNIMPLEMENTED
	case 429, 502, 503, 504:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// httpFromGRPC maps a gRPC status to the HTTP status a plain client gets.
func httpFromGRPC(code int) int {
	switch code {
	case 0:
		return 200
	case 3, 9, 11:
		return 400
	case 16:
		return 401
	case 7:
		return 403
	case 5, 12:
		return 404
	case 6, 10:
		return 409
	case 8:
		return 429
	case 4:
		return 504
	case 14:
		return 503
	case 1:
		return 499
	}
	return 500
}
