package bootstrap

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Default addresses (docs/conventions.md).
const (
	DefaultXDSAddress     = "127.0.0.1:18000"
	DefaultModulesAddress = "127.0.0.1:18001"
	DefaultAdminAddress   = "127.0.0.1:15000"
)

// TagKeys returns the metric tag keys of the built-in filters (docs/conventions.md,
// "Metrics"). The bootstrap has one stats_tags rule per key.
func TagKeys() []string { return slices.Clone(tagKeys) }

var tagKeys = []string{
	"source_service", "source_version", "destination_service", "destination_version",
	"route", "method", "response_code_class", "service", "version", "kind", "policy", "decision",
}

// Params is what a sidecar bootstrap is rendered from. Empty NodeID, AdminAddress,
// XDSAddress, ModulesAddress and TagKeys take their defaults; the rest is required.
type Params struct {
	NodeID          string // <service>.<version>.<n>; default <service>.<version>.0
	Service         string // node.cluster and metadata.service
	Version         string // metadata.version
	AppAddress      string // host:port of the local app (inbound listener forwards here)
	InboundAddress  string // host:port the inbound listener binds
	OutboundAddress string // host:port the outbound listener binds
	AdminAddress    string // host:port of Envoy's admin; default 127.0.0.1:15000
	// XDSAddress is the control plane's ADS (gRPC) address, default 127.0.0.1:18000; several
	// replicas are listed comma-separated (Envoy reconnects to another when one dies), and a
	// host name makes the cluster STRICT_DNS (a Kubernetes Service name).
	XDSAddress string
	// ModulesAddress is the control plane's module server, default 127.0.0.1:18001; a list
	// and host names as for XDSAddress.
	ModulesAddress string

	TagKeys []string // metric tag keys; default TagKeys()
	// XDSToken is the sidecar's xDS credential (`wasmesh credential <node id>`), sent as
	// `authorization: Bearer <token>` on the ADS stream. Without it the control plane refuses
	// the sidecar; the bootstrap then says so in a comment.
	XDSToken string
}

// Defaults returns the parameters of the checked-in envoy-configs/sidecar.yaml: a sidecar for
// service "app" version "v1" with the conventional control-plane addresses.
func Defaults() Params {
	return Params{
		Service:         "app",
		Version:         "v1",
		AppAddress:      "127.0.0.1:8080",
		InboundAddress:  "127.0.0.1:15006",
		OutboundAddress: "127.0.0.1:15001",
	}
}

// envVars maps each WASMESH_* environment variable FromEnv reads to the Params field it sets.
var envVars = []struct{ Name, Field string }{
	{"WASMESH_NODE_ID", "NodeID"},
	{"WASMESH_SERVICE", "Service"},
	{"WASMESH_VERSION", "Version"},
	{"WASMESH_APP_ADDRESS", "AppAddress"},
	{"WASMESH_INBOUND_ADDRESS", "InboundAddress"},
	{"WASMESH_OUTBOUND_ADDRESS", "OutboundAddress"},
	{"WASMESH_ADMIN_ADDRESS", "AdminAddress"},
	{"WASMESH_XDS_ADDRESS", "XDSAddress"},
	{"WASMESH_MODULES_ADDRESS", "ModulesAddress"},
	{"WASMESH_XDS_TOKEN", "XDSToken"},
}

// FromEnv overrides p's fields with the WASMESH_* variables that getenv returns non-empty
// (WASMESH_NODE_ID sets NodeID, WASMESH_XDS_TOKEN XDSToken, ...: envVars lists them), e.g.
// FromEnv(bootstrap.Defaults(), os.Getenv).
func FromEnv(p Params, getenv func(string) string) Params {
	for _, e := range envVars {
		v := getenv(e.Name)
		if v == "" {
			continue
		}
		switch e.Field {
		case "NodeID":
			p.NodeID = v
		case "Service":
			p.Service = v
		case "Version":
			p.Version = v
		case "AppAddress":
			p.AppAddress = v
		case "InboundAddress":
			p.InboundAddress = v
		case "OutboundAddress":
			p.OutboundAddress = v
		case "AdminAddress":
			p.AdminAddress = v
		case "XDSAddress":
			p.XDSAddress = v
		case "ModulesAddress":
			p.ModulesAddress = v
		case "XDSToken":
			p.XDSToken = v
		}
	}
	return p
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// withDefaults fills the optional fields.
func (p Params) withDefaults() Params {
	if p.NodeID == "" && p.Service != "" && p.Version != "" {
		p.NodeID = p.Service + "." + p.Version + ".0"
	}
	if p.AdminAddress == "" {
		p.AdminAddress = DefaultAdminAddress
	}
	if p.XDSAddress == "" {
		p.XDSAddress = DefaultXDSAddress
	}
	if p.ModulesAddress == "" {
		p.ModulesAddress = DefaultModulesAddress
	}
	if p.TagKeys == nil {
		p.TagKeys = TagKeys()
	}
	return p
}

// Validate reports every problem of p (after defaults) in one error, each naming its field.
func (p Params) Validate() error {
	_, err := p.withDefaults().resolve()
	return err
}

type hostPort struct {
	Host string
	Port int
}

type rendered struct {
	Params
	Admin        hostPort
	XDS, Modules []hostPort
	// XDSType and ModulesType are the clusters' discovery types: STATIC for IP addresses,
	// STRICT_DNS when a host is a name.
	XDSType, ModulesType string
}

// clusterType is STATIC when every host is an IP address, else STRICT_DNS.
func clusterType(hps []hostPort) string {
	for _, hp := range hps {
		if net.ParseIP(hp.Host) == nil {
			return "STRICT_DNS"
		}
	}
	return "STATIC"
}

func (p Params) resolve() (rendered, error) {
	var errs []error
	for _, f := range []struct{ name, v string }{{"service", p.Service}, {"version", p.Version}} {
		switch {
		case f.v == "":
			errs = append(errs, fmt.Errorf("%s: required", f.name))
		case !nameRE.MatchString(f.v):
			errs = append(errs, fmt.Errorf("%s: %q is not a lowercase DNS label", f.name, f.v))
		}
	}
	if p.NodeID == "" && (p.Service == "" || p.Version == "") {
		errs = append(errs, errors.New("nodeID: required (default needs service and version)"))
	}
	addr := func(name, v string) hostPort {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s: required", name))
			return hostPort{}
		}
		h, ps, err := net.SplitHostPort(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return hostPort{}
		}
		port, err := strconv.Atoi(ps)
		if err != nil || port < 1 || port > 65535 || h == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port with a port in 1..65535", name, v))
			return hostPort{}
		}
		return hostPort{h, port}
	}
	addr("appAddress", p.AppAddress)
	addr("inboundAddress", p.InboundAddress)
	addr("outboundAddress", p.OutboundAddress)
	r := rendered{Params: p}
	r.Admin = addr("adminAddress", p.AdminAddress)
	list := func(name, v string) []hostPort {
		var out []hostPort
		for i, a := range strings.Split(v, ",") {
			n := name
			if strings.Contains(v, ",") {
				n = fmt.Sprintf("%s[%d]", name, i)
			}
			out = append(out, addr(n, strings.TrimSpace(a)))
		}
		return out
	}
	r.XDS = list("xdsAddress", p.XDSAddress)
	r.Modules = list("modulesAddress", p.ModulesAddress)
	r.XDSType, r.ModulesType = clusterType(r.XDS), clusterType(r.Modules)
	if strings.ContainsAny(p.XDSToken, " \t\r\n\"'\\") {
		errs = append(errs, errors.New("xdsToken: contains whitespace or quotes; pass the output of `wasmesh credential <node id>` as is"))
	}
	for i, k := range p.TagKeys {
		if !regexp.MustCompile(`^[a-z_][a-z0-9_]*$`).MatchString(k) {
			errs = append(errs, fmt.Errorf("tagKeys[%d]: %q is not a metric tag key ([a-z_][a-z0-9_]*)", i, k))
		}
	}
	return r, errors.Join(errs...)
}

//go:embed sidecar.yaml.tmpl
var sidecarTmpl string

var tmpl = template.Must(template.New("sidecar").Funcs(template.FuncMap{
	// q quotes a string for YAML (a JSON string is a YAML double-quoted scalar).
	"q": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
}).Parse(sidecarTmpl))

// Render returns the sidecar bootstrap YAML for p, or every problem of p in one error.
func Render(p Params) ([]byte, error) {
	r, err := p.withDefaults().resolve()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", r.NodeID, err)
	}
	return buf.Bytes(), nil
}
