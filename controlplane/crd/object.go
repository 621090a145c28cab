package crd

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wasmesh/wasmesh/internal/yamlstrict"
)

// Object is any wasmesh resource: *Service, *TrafficRoute, *FaultInjection, *Telemetry or
// *WasmPlugin.
type Object interface {
	// GetKind returns the resource's kind.
	GetKind() Kind
	// Meta returns the resource's metadata, for reading and writing.
	Meta() *ObjectMeta
	// GetStatus returns the resource's status, for reading and writing.
	GetStatus() *Status
	// SpecJSON returns the spec as canonical JSON (used to detect spec changes).
	SpecJSON() []byte
	object()
}

var (
	_ Object = (*Service)(nil)
	_ Object = (*TrafficRoute)(nil)
	_ Object = (*FaultInjection)(nil)
	_ Object = (*Telemetry)(nil)
	_ Object = (*WasmPlugin)(nil)
	_ Object = (*TransportPolicy)(nil)
	_ Object = (*AuthorizationPolicy)(nil)
)

// GetKind implements Object.
func (*TransportPolicy) GetKind() Kind { return KindTransportPolicy }

// GetKind implements Object.
func (*AuthorizationPolicy) GetKind() Kind { return KindAuthorizationPolicy }

// Meta implements Object.
func (o *TransportPolicy) Meta() *ObjectMeta { return &o.Metadata }

// Meta implements Object.
func (o *AuthorizationPolicy) Meta() *ObjectMeta { return &o.Metadata }

// GetStatus implements Object.
func (o *TransportPolicy) GetStatus() *Status { return &o.Status }

// GetStatus implements Object.
func (o *AuthorizationPolicy) GetStatus() *Status { return &o.Status }

// SpecJSON implements Object.
func (o *TransportPolicy) SpecJSON() []byte { return mustJSON(o.Spec) }

// SpecJSON implements Object.
func (o *AuthorizationPolicy) SpecJSON() []byte { return mustJSON(o.Spec) }

func (*TransportPolicy) object()     {}
func (*AuthorizationPolicy) object() {}

// GetKind implements Object.
func (*Service) GetKind() Kind { return KindService }

// GetKind implements Object.
func (*TrafficRoute) GetKind() Kind { return KindTrafficRoute }

// GetKind implements Object.
func (*FaultInjection) GetKind() Kind { return KindFaultInjection }

// GetKind implements Object.
func (*Telemetry) GetKind() Kind { return KindTelemetry }

// GetKind implements Object.
func (*WasmPlugin) GetKind() Kind { return KindWasmPlugin }

// Meta implements Object.
func (o *Service) Meta() *ObjectMeta { return &o.Metadata }

// Meta implements Object.
func (o *TrafficRoute) Meta() *ObjectMeta { return &o.Metadata }

// Meta implements Object.
func (o *FaultInjection) Meta() *ObjectMeta { return &o.Metadata }

// Meta implements Object.
func (o *Telemetry) Meta() *ObjectMeta { return &o.Metadata }

// Meta implements Object.
func (o *WasmPlugin) Meta() *ObjectMeta { return &o.Metadata }

// GetStatus implements Object.
func (o *Service) GetStatus() *Status { return &o.Status }

// GetStatus implements Object.
func (o *TrafficRoute) GetStatus() *Status { return &o.Status }

// GetStatus implements Object.
func (o *FaultInjection) GetStatus() *Status { return &o.Status }

// GetStatus implements Object.
func (o *Telemetry) GetStatus() *Status { return &o.Status }

// GetStatus implements Object.
func (o *WasmPlugin) GetStatus() *Status { return &o.Status }

// SpecJSON implements Object.
func (o *Service) SpecJSON() []byte { return mustJSON(o.Spec) }

// SpecJSON implements Object.
func (o *TrafficRoute) SpecJSON() []byte { return mustJSON(o.Spec) }

// SpecJSON implements Object.
func (o *FaultInjection) SpecJSON() []byte { return mustJSON(o.Spec) }

// SpecJSON implements Object.
func (o *Telemetry) SpecJSON() []byte { return mustJSON(o.Spec) }

// SpecJSON implements Object.
func (o *WasmPlugin) SpecJSON() []byte { return mustJSON(o.Spec) }

func (*Service) object()        {}
func (*TrafficRoute) object()   {}
func (*FaultInjection) object() {}
func (*Telemetry) object()      {}
func (*WasmPlugin) object()     {}

// mustJSON marshals spec types, which contain only marshalable values.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("crd: marshal %T: %v", v, err))
	}
	return b
}

// New returns an empty resource of the kind, with apiVersion and kind set.
func New(kind Kind) (Object, error) {
	tm := TypeMeta{APIVersion: APIVersion, Kind: kind}
	switch kind {
	case KindService:
		return &Service{TypeMeta: tm}, nil
	case KindTrafficRoute:
		return &TrafficRoute{TypeMeta: tm}, nil
	case KindFaultInjection:
		return &FaultInjection{TypeMeta: tm}, nil
	case KindTelemetry:
		return &Telemetry{TypeMeta: tm}, nil
	case KindWasmPlugin:
		return &WasmPlugin{TypeMeta: tm}, nil
	case KindTransportPolicy:
		return &TransportPolicy{TypeMeta: tm}, nil
	case KindAuthorizationPolicy:
		return &AuthorizationPolicy{TypeMeta: tm}, nil
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownKind, kind, kindList())
}

func kindList() string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// ParseKind resolves a kind as users type it on the command line: the kind in any case, its
// plural, or a short name (svc, tr, fi, tel, wp, tp, authz).
func ParseKind(s string) (Kind, error) {
	l := strings.ToLower(s)
	for _, k := range Kinds() {
		kl := strings.ToLower(string(k))
		if l == kl || l == kl+"s" || l == shortName(k) {
			return k, nil
		}
	}
	switch l {
	case "telemetries":
		return KindTelemetry, nil
	case "transportpolicies":
		return KindTransportPolicy, nil
	case "authorizationpolicies":
		return KindAuthorizationPolicy, nil
	}
	return "", fmt.Errorf("%w %q (known: %s)", ErrUnknownKind, s, kindList())
}

func shortName(k Kind) string {
	switch k {
	case KindService:
		return "svc"
	case KindTrafficRoute:
		return "tr"
	case KindFaultInjection:
		return "fi"
	case KindTelemetry:
		return "tel"
	case KindWasmPlugin:
		return "wp"
	case KindTransportPolicy:
		return "tp"
	case KindAuthorizationPolicy:
		return "authz"
	}
	return ""
}

// Key identifies a resource: kind, namespace and name.
type Key struct {
	Kind      Kind   `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String renders the key as "Kind/namespace/name".
func (k Key) String() string { return string(k.Kind) + "/" + k.Namespace + "/" + k.Name }

// KeyOf returns the key of a resource; an empty namespace counts as DefaultNamespace.
func KeyOf(o Object) Key {
	ns := o.Meta().Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return Key{Kind: o.GetKind(), Namespace: ns, Name: o.Meta().Name}
}

// CompareKeys orders keys by kind (in Kinds order), namespace, then name.
func CompareKeys(a, b Key) int {
	return cmp.Or(
		cmp.Compare(kindIndex(a.Kind), kindIndex(b.Kind)),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

func kindIndex(k Kind) int {
	i := slices.Index(Kinds(), k)
	if i < 0 {
		return len(Kinds())
	}
	return i
}

// Marshal renders a resource as JSON.
func Marshal(o Object) ([]byte, error) { return json.Marshal(o) }

// Unmarshal reads a resource from JSON (as stored or sent over the API), strictly: unknown
// fields are refused, every problem a *FieldError naming its path (joined), phrased by the
// decoder of Decode. Server-set fields (metadata.generation, status, ...) are kept.
func Unmarshal(data []byte) (Object, error) {
	// The store and the API client read JSON this package wrote: encoding/json reads it some
	// seven times faster than the YAML walker, which runs only to phrase what it refuses. (It
	// lets through two forms this package never writes: a repeated key, a field name in
	// another case. The API decodes what clients send with DecodeObject, which refuses them.)
	var tm TypeMeta
	if err := json.Unmarshal(data, &tm); err == nil && tm.APIVersion == APIVersion {
		if o, err := New(tm.Kind); err == nil {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if dec.Decode(o) == nil && !dec.More() {
				return o, nil
			}
		}
	}
	return unmarshalStrict(data)
}

// unmarshalStrict is Unmarshal with the strict walker: slower, and its problems read as
// Decode's.
func unmarshalStrict(data []byte) (Object, error) {
	roots, err := yamlstrict.Documents(data)
	switch {
	case err != nil:
		return nil, fmt.Errorf("decode resource: %w", err)
	case len(roots) != 1:
		return nil, fmt.Errorf("decode resource: expected one resource, got %d documents", len(roots))
	}
	var tm struct{ apiVersion, kind string }
	if root := roots[0]; root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			switch v := yamlstrict.Resolve(root.Content[i+1]).Value; root.Content[i].Value {
			case "apiVersion":
				tm.apiVersion = v
			case "kind":
				tm.kind = v
			}
		}
	}
	if tm.apiVersion != APIVersion {
		return nil, fmt.Errorf("decode resource: apiVersion %q is not %q", tm.apiVersion, APIVersion)
	}
	o, err := New(Kind(tm.kind))
	if err != nil {
		return nil, err
	}
	w := newWalker()
	w.Decode(roots[0], "", o)
	var errs []error
	for _, fe := range fieldErrors(w.Errors()) {
		errs = append(errs, fe)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return o, nil
}

// Clone returns a deep copy of a resource, with apiVersion and kind set to their canonical
// values.
func Clone(o Object) Object {
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("crd: clone %T: %v", o, err))
	}
	c, err := New(o.GetKind())
	if err != nil {
		panic(fmt.Sprintf("crd: clone %T: %v", o, err))
	}
	if err := json.Unmarshal(b, c); err != nil {
		panic(fmt.Sprintf("crd: clone %T: %v", o, err))
	}
	setTypeMeta(c)
	return c
}

func setTypeMeta(o Object) {
	tm := TypeMeta{APIVersion: APIVersion, Kind: o.GetKind()}
	switch o := o.(type) {
	case *Service:
		o.TypeMeta = tm
	case *TrafficRoute:
		o.TypeMeta = tm
	case *FaultInjection:
		o.TypeMeta = tm
	case *Telemetry:
		o.TypeMeta = tm
	case *WasmPlugin:
		o.TypeMeta = tm
	case *TransportPolicy:
		o.TypeMeta = tm
	case *AuthorizationPolicy:
		o.TypeMeta = tm
	}
}

// Set is a consistent collection of resources grouped by kind, each slice sorted by
// namespace then name. It is what validation checks references against and what the
// translator reads.
type Set struct {
	Services        []*Service
	TrafficRoutes   []*TrafficRoute
	FaultInjections []*FaultInjection
	Telemetries     []*Telemetry
	WasmPlugins     []*WasmPlugin
	// TransportPolicies and AuthorizationPolicies are the security resources (security.go).
	TransportPolicies     []*TransportPolicy
	AuthorizationPolicies []*AuthorizationPolicy
}

// NewSet groups objects into a Set. A later object with the same key replaces an earlier one.
func NewSet(objs ...Object) *Set {
	byKey := map[Key]Object{}
	for _, o := range objs {
		byKey[KeyOf(o)] = o
	}
	keys := make([]Key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, CompareKeys)
	s := &Set{}
	for _, k := range keys {
		switch o := byKey[k].(type) {
		case *Service:
			s.Services = append(s.Services, o)
		case *TrafficRoute:
			s.TrafficRoutes = append(s.TrafficRoutes, o)
		case *FaultInjection:
			s.FaultInjections = append(s.FaultInjections, o)
		case *Telemetry:
			s.Telemetries = append(s.Telemetries, o)
		case *WasmPlugin:
			s.WasmPlugins = append(s.WasmPlugins, o)
		case *TransportPolicy:
			s.TransportPolicies = append(s.TransportPolicies, o)
		case *AuthorizationPolicy:
			s.AuthorizationPolicies = append(s.AuthorizationPolicies, o)
		}
	}
	return s
}

// Objects returns every resource of the set in key order.
func (s *Set) Objects() []Object {
	var out []Object
	for _, o := range s.Services {
		out = append(out, o)
	}
	for _, o := range s.TrafficRoutes {
		out = append(out, o)
	}
	for _, o := range s.FaultInjections {
		out = append(out, o)
	}
	for _, o := range s.Telemetries {
		out = append(out, o)
	}
	for _, o := range s.WasmPlugins {
		out = append(out, o)
	}
	for _, o := range s.TransportPolicies {
		out = append(out, o)
	}
	for _, o := range s.AuthorizationPolicies {
		out = append(out, o)
	}
	return out
}

// Service returns the Service with the name in the namespace ("" = DefaultNamespace), or nil.
func (s *Set) Service(namespace, name string) *Service {
	for _, o := range s.Services {
		if sameNS(o.Metadata.Namespace, namespace) && o.Metadata.Name == name {
			return o
		}
	}
	return nil
}

func sameNS(a, b string) bool {
	if a == "" {
		a = DefaultNamespace
	}
	if b == "" {
		b = DefaultNamespace
	}
	return a == b
}

// VersionNames returns the names of the Service's versions in declared order.
func (o *Service) VersionNames() []string {
	names := make([]string, len(o.Spec.Versions))
	for i, v := range o.Spec.Versions {
		names[i] = v.Name
	}
	return names
}

// EffectiveDefaultVersion returns DefaultVersion, or the first version when it is empty.
func (o *Service) EffectiveDefaultVersion() string {
	if o.Spec.DefaultVersion != "" || len(o.Spec.Versions) == 0 {
		return o.Spec.DefaultVersion
	}
	return o.Spec.Versions[0].Name
}
