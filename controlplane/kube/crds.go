package kube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// Group is the API group of every wasmesh resource, Version its version
// (crd.APIVersion = Group/Version).
const (
	Group   = "wasmesh.io"
	Version = "v1alpha1"
)

// Plural returns the resource name of a kind as the API server serves it: the kind in lower
// case, plural (`trafficroutes`, `telemetries`).
func Plural(k crd.Kind) string {
	s := strings.ToLower(string(k))
	if n := len(s); n > 1 && s[n-1] == 'y' && !strings.ContainsRune("aeiou", rune(s[n-2])) {
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

// CRD returns the CustomResourceDefinition of a kind, derived from its Go type (crd.New): an
// OpenAPI v3 schema of the spec and status, with the rules of the validator a schema can
// express (required fields, ranges, enums: schemaRules); the status subresource; printer
// columns. What a schema cannot express (references, weights summing to 100, regexes, the
// filters' own checks) is the validating webhook's (Webhook).
func CRD(kind crd.Kind) (map[string]any, error) {
	o, err := crd.New(kind)
	if err != nil {
		return nil, err
	}
	t := reflect.TypeOf(o).Elem()
	props := map[string]any{
		"apiVersion": map[string]any{"type": "string"},
		"kind":       map[string]any{"type": "string"},
		"metadata":   map[string]any{"type": "object"},
	}
	var required []string
	for _, name := range []string{"spec", "status"} {
		f, ok := jsonField(t, name)
		if !ok && name == "status" {
			continue // a kind without status has no status subresource either
		}
		if !ok {
			return nil, fmt.Errorf("kind %s: Go type %s has no %q field", kind, t, name)
		}
		props[name] = schemaOf(f.Type, t.Name()+"."+f.Name)
		if name == "spec" {
			required = append(required, "spec")
		}
	}
	plural := Plural(kind)
	subresources := map[string]any{}
	if _, ok := props["status"]; ok {
		subresources["status"] = map[string]any{}
	}
	columns := []any{}
	if spec, ok := jsonField(t, "spec"); ok {
		if f, ok := jsonField(spec.Type, "service"); ok && f.Type.Kind() == reflect.String {
			columns = append(columns, column("Service", "string", ".spec.service"))
		}
	}
	columns = append(columns,
		column("Generation", "integer", ".metadata.generation"),
		column("Observed", "integer", ".status.observedGeneration"),
		column("Age", "date", ".metadata.creationTimestamp"))
	return map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": plural + "." + Group},
		"spec": map[string]any{
			"group": Group,
			"names": map[string]any{
				"kind":       string(kind),
				"listKind":   string(kind) + "List",
				"plural":     plural,
				"singular":   strings.ToLower(string(kind)),
				"categories": []any{"wasmesh"},
			},
			"scope": "Namespaced",
			"versions": []any{map[string]any{
				"name":    Version,
				"served":  true,
				"storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type":        "object",
					"description": fmt.Sprintf("%s is a wasmesh resource (docs/crds.md).", kind),
					"properties":  props,
					"required":    toAny(required),
				}},
				"subresources":             subresources,
				"additionalPrinterColumns": columns,
			}},
		},
	}, nil
}

// CRDs returns the CustomResourceDefinitions of every kind (crd.Kinds), in that order.
func CRDs() ([]map[string]any, error) {
	var out []map[string]any
	for _, k := range crd.Kinds() {
		c, err := CRD(k)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// CRDManifest renders every CustomResourceDefinition as one multi-document YAML stream: the
// content of install/kubernetes/crds.yaml (regenerate it with
// `go test ./controlplane/kube -run TestCRDManifest -update`).
func CRDManifest() ([]byte, error) {
	crds, err := CRDs()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# Generated from the Go types of controlplane/crd by controlplane/kube.CRDManifest; do not edit.\n")
	b.WriteString("# Regenerate: go test ./controlplane/kube -run TestCRDManifest -update\n")
	for _, c := range crds {
		y, err := yaml.Marshal(c)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return []byte(b.String()), nil
}

func column(name, typ, path string) map[string]any {
	return map[string]any{"name": name, "type": typ, "jsonPath": path}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// jsonField finds the struct field whose JSON name is name (embedded structs flattened).
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		if n, _ := jsonName(f); n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// jsonName returns a field's JSON name and whether the field may be left out (omitempty,
// omitzero).
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
}

var (
	durationType = reflect.TypeFor[crd.Duration]()
	rawType      = reflect.TypeFor[json.RawMessage]()
	timeType     = reflect.TypeFor[time.Time]()
)

// schemaRules are the validator's rules a schema can express, by Go type and field
// (`ServiceSpec.Port`), merged into the field's generated schema. Fields of kinds added
// later get the generic schema (types and required fields) until a rule is added here.
var schemaRules = map[string]map[string]any{
	"ServiceSpec.Port":             {"minimum": 1, "maximum": 65535},
	"ServiceSpec.Versions":         {"minItems": 1},
	"ServiceVersion.Endpoints":     {"minItems": 1},
	"Mirror.Percentage":            {"minimum": 0, "maximum": 100},
	"FaultDelay.Percentage":        {"minimum": 0, "maximum": 100},
	"FaultAbort.Percentage":        {"minimum": 0, "maximum": 100},
	"FaultAbort.HTTPStatus":        {"minimum": 200, "maximum": 599},
	"AccessLog.Sampling":           {"minimum": 0, "maximum": 100},
	"WasmPluginSpec.Phase":         {"enum": []any{crd.PhaseBefore, crd.PhaseAfter}},
	"WasmPluginSpec.FailurePolicy": {"enum": []any{crd.FailureReload, crd.FailureClosed, crd.FailureOpen}},
	"Retries.Attempts":             {"maximum": crd.MaxRetryAttempts},
	// canary.Policy is a TrafficRoute's split (crd.Split).
	"Policy.Weights": {"minProperties": 1, "additionalProperties": map[string]any{"type": "integer", "minimum": 0, "maximum": 100}},
}

// schemaOf returns the OpenAPI v3 schema of a Go type; where names the field
// (`Type.Field`) for schemaRules.
func schemaOf(t reflect.Type, where string) map[string]any {
	s := baseSchema(t)
	for k, v := range schemaRules[where] {
		s[k] = v
	}
	return s
}

func baseSchema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		return map[string]any{"type": "string", "description": `a Go duration such as "200ms" or "1.5s"`}
	case rawType:
		return map[string]any{"x-kubernetes-preserve-unknown-fields": true, "description": "any value, handed to the plugin as JSON"}
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s := map[string]any{"type": "integer"}
		if t.Bits() <= 32 {
			s["format"] = "int32"
		} else {
			s["format"] = "int64"
		}
		return s
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s := map[string]any{"type": "integer", "minimum": 0}
		if t.Bits() <= 32 {
			s["maximum"] = uint64(1)<<t.Bits() - 1
		} else {
			s["format"] = "int64"
		}
		return s
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface: // any value
		return map[string]any{"x-kubernetes-preserve-unknown-fields": true}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), t.Elem().Name())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), t.Elem().Name())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for _, f := range reflect.VisibleFields(t) {
			if !f.IsExported() || f.Anonymous || f.Tag.Get("json") == "-" {
				continue
			}
			name, optional := jsonName(f)
			props[name] = schemaOf(f.Type, t.Name()+"."+f.Name)
			if !optional && !zeroAllowed(f.Type) {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = toAny(required)
		}
		return s
	}
	panic(fmt.Sprintf("kube: no schema for Go type %s (add a case to baseSchema)", t))
}

// zeroAllowed reports whether a field without omitempty may still be left out: numbers and
// booleans, whose zero value the validator judges (a percentage of 0 is valid).
func zeroAllowed(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}
