package config

import "strings"

// DecodeServices decodes the shape the built-in filters share: either one policy at the root,
// or a per-service map {"services": {"<service>": policy, ...}}. decode reads one policy object
// (and closes it). With the map form the root policy is the zero value and services is
// non-nil.
func DecodeServices[P any](root Object, decode func(Object) P) (policy P, services map[string]P) {
	sv, ok := root.Get("services")
	if !ok {
		if root.Has("services") { // "services": null
			root.ErrorfAt("services", "want an object, got null")
		}
		return decode(root), nil
	}
	for _, k := range root.Keys() {
		if k != "services" {
			root.ErrorfAt(k, "unknown key (a config with \"services\" holds nothing else)")
		}
	}
	so, ok := sv.Object()
	services = map[string]P{}
	if !ok {
		return policy, services
	}
	so.Each(func(name string, v Value) {
		if err := CheckName(name); err != nil {
			v.Errorf("service name: %v", err)
		}
		po, ok := v.Object()
		if !ok {
			return
		}
		services[name] = decode(po)
	})
	return policy, services
}

// CheckName validates a service or version name as used in the routing header and cluster
// names (`<service>|<version>`): non-empty, without '|', ':', ';', '=', ',' or spaces.
func CheckName(name string) error {
	if name == "" {
		return errEmptyName
	}
	if strings.ContainsAny(name, "|:;=, \t\"") {
		return errBadName
	}
	return nil
}

var (
	errEmptyName = errorString("must not be empty")
	errBadName   = errorString("must not contain '|', ':', ';', '=', ',', quotes or spaces")
)

type errorString string

func (e errorString) Error() string { return string(e) }

// ParseServices parses data (config.Parse) and decodes it with DecodeServices: what a
// built-in filter's ParseConfig does. Every problem is reported with its JSON path, joined.
func ParseServices[P any](data []byte, decode func(Object) P) (policy P, services map[string]P, err error) {
	var errs Errors
	root, ok := Parse(data, &errs)
	if !ok {
		return policy, nil, errs.Err()
	}
	policy, services = DecodeServices(root, decode)
	return policy, services, errs.Err()
}

// PerService holds a filter's compiled policies in the shape DecodeServices decodes: one for
// every request, or one per service.
type PerService[T any] struct {
	all    T
	byName map[string]T // non-nil with the per-service map
}

// CompilePerService compiles the policy, or each service's policy when services is non-nil.
func CompilePerService[P, T any](policy P, services map[string]P, compile func(P) T) PerService[T] {
	var s PerService[T]
	if services == nil {
		s.all = compile(policy)
		return s
	}
	s.byName = make(map[string]T, len(services))
	for name, p := range services {
		s.byName[name] = compile(p)
	}
	return s
}

// For returns the policy that applies to a request for service; false when the config is a
// per-service map without that service (the request passes through untouched).
func (s PerService[T]) For(service string) (T, bool) {
	if s.byName == nil {
		return s.all, true
	}
	p, ok := s.byName[service]
	return p, ok
}

// Each calls fn with every compiled policy.
func (s PerService[T]) Each(fn func(T)) {
	if s.byName == nil {
		fn(s.all)
		return
	}
	for _, p := range s.byName {
		fn(p)
	}
}

// Compiler returns the function that parses a filter's JSON configuration with parse and
// compiles it with build: what a filter's plugin (sdk.NewPlugin) and a pipeline stage start
// from.
func Compiler[C, F any](parse func([]byte) (C, error), build func(C) (F, error)) func([]byte) (F, error) {
	return func(data []byte) (F, error) {
		cfg, err := parse(data)
		if err != nil {
			var zero F
			return zero, err
		}
		return build(cfg)
	}
}
