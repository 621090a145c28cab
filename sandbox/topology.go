package sandbox

import (
	"fmt"
	"net"
	"strconv"
)

// DefaultBasePort is the first port of the sandbox's port block: the control plane's xDS port,
// as in docs/conventions.md. Every other port is derived from it (see Topology).
const DefaultBasePort = 18000

// EnvoyVersion is the stock Envoy release the sandbox runs: the version `make envoy` installs
// and the tag of the envoyproxy/envoy image in docker-compose.yaml.
const EnvoyVersion = "1.40.0"

// EnvoyImage is the official Envoy image the Docker variant of the sandbox runs.
const EnvoyImage = "envoyproxy/envoy:v" + EnvoyVersion

// PortSpan is how many ports, starting at the base port, the sandbox may use.
const PortSpan = 60

// Instance is one demo service instance: an app and the Envoy sidecar in front of it.
type Instance struct {
	Service string // e.g. "reviews"
	Version string // e.g. "v2"
	Index   int    // n in the node id <service>.<version>.<n>
	Calls   string // the service this app calls through its sidecar; "" for a leaf

	// IP is the address the inbound listener binds and other sidecars reach this instance at
	// (the Service endpoint): 127.0.0.1 for processes, the container's IP under Docker.
	IP string
	// AdminIP is the address the sidecar admin binds: 127.0.0.1, or 0.0.0.0 under Docker so
	// Prometheus can scrape it.
	AdminIP string

	Inbound  int // sidecar inbound listener: the Service endpoint for this version
	Outbound int // sidecar outbound listener: where the app sends calls with Host: <service>
	Admin    int // sidecar admin (/ready, /stats/prometheus, /config_dump)
	App      int // the demo app itself
}

// NodeID is the sidecar's Envoy node id, <service>.<version>.<n> (docs/conventions.md).
func (i Instance) NodeID() string {
	return i.Service + "." + i.Version + "." + strconv.Itoa(i.Index)
}

// InboundAddress is the host:port the sidecar's inbound listener binds (node metadata
// inbound_address) and the Service endpoint of this version.
func (i Instance) InboundAddress() string { return hostPort(i.IP, i.Inbound) }

// OutboundAddress is the host:port of the sidecar's outbound listener (node metadata
// outbound_address); the app shares the sidecar's network, so it is always loopback.
func (i Instance) OutboundAddress() string { return hostPort("127.0.0.1", i.Outbound) }

// AppAddress is the host:port of the demo app (node metadata app_address).
func (i Instance) AppAddress() string { return hostPort("127.0.0.1", i.App) }

// AdminAddress is the host:port of the sidecar's admin interface.
func (i Instance) AdminAddress() string { return hostPort(i.AdminIP, i.Admin) }

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// Name is the instance's short name, <service>-<version>, used for container and log names.
func (i Instance) Name() string { return i.Service + "-" + i.Version }

// Topology is the sandbox mesh: where the control plane listens and every demo instance with
// its ports. The process sandbox and docker-compose.yaml are both derived from it.
type Topology struct {
	Host string // the address the control plane binds: 127.0.0.1, or 0.0.0.0 under Docker
	// ControlPlaneIP is the address sidecars dial for xDS and modules.
	ControlPlaneIP string
	BasePort       int
	XDS            int // control plane ADS (gRPC)
	HTTP           int // control plane API and module server
	Control        int // the sandbox's own control endpoint (wasmesh sandbox kill/restart/ps)
	Prometheus     int // Prometheus, when the sandbox runs one (prometheus on PATH)
	// MetricsURL is the Prometheus the control plane's graph asks ("": it scrapes the
	// sidecars' admins itself); set by the sandbox when it runs Prometheus.
	MetricsURL string

	Instances []Instance
}

// demoMesh is the demo: frontend → reviews v1/v2/v3 → ratings. Order fixes the port blocks.
var demoMesh = []struct{ service, version, calls string }{
	{"frontend", "v1", "reviews"},
	{"reviews", "v1", "ratings"},
	{"reviews", "v2", "ratings"},
	{"reviews", "v3", "ratings"},
	{"ratings", "v1", ""},
}

// NewTopology lays out the demo mesh on ports from base: the control plane takes base (xDS) and
// base+1 (API, modules); instance k (0 = frontend v1, then reviews v1, v2, v3, ratings v1) takes
// the block base+10(k+1): +0 inbound, +1 outbound, +2 admin, +3 app. With the default base,
// `curl 127.0.0.1:18010/` reaches the frontend through its sidecar.
func NewTopology(base int) Topology {
	t := Topology{
		Host:           "127.0.0.1",
		ControlPlaneIP: "127.0.0.1",
		BasePort:       base,
		XDS:            base,
		HTTP:           base + 1,
		Control:        base + 2,
		Prometheus:     base + 3,
	}
	for k, m := range demoMesh {
		b := base + 10*(k+1)
		t.Instances = append(t.Instances, Instance{
			Service: m.service, Version: m.version, Calls: m.calls, IP: "127.0.0.1", AdminIP: "127.0.0.1",
			Inbound: b, Outbound: b + 1, Admin: b + 2, App: b + 3,
		})
	}
	return t
}

// Addr joins the topology's host and a port.
func (t Topology) Addr(port int) string { return hostPort(t.Host, port) }

// XDSAddress is the control plane's ADS address as sidecars dial it.
func (t Topology) XDSAddress() string { return hostPort(t.ControlPlaneIP, t.XDS) }

// HTTPAddress is the control plane's API and module server address as sidecars and the CLI
// dial it.
func (t Topology) HTTPAddress() string { return hostPort(t.ControlPlaneIP, t.HTTP) }

// ComposeSubnet is the Docker network of the compose variant; addresses are fixed because EDS
// endpoints must be IPs.
const ComposeSubnet = "10.77.0.0/24"

// ComposeTopology is the Docker variant of the default topology: the same services, versions
// and ports, with each sidecar on its own container IP in ComposeSubnet (control plane
// 10.77.0.2, instance k at 10.77.0.(10+k)) and admin interfaces open to the network.
func ComposeTopology() Topology {
	t := NewTopology(DefaultBasePort)
	t.Host = "0.0.0.0"
	t.ControlPlaneIP = "10.77.0.2"
	for k := range t.Instances {
		t.Instances[k].IP = "10.77.0." + strconv.Itoa(10+k)
		t.Instances[k].AdminIP = "0.0.0.0"
	}
	return t
}

// PrometheusIP and GrafanaIP are the compose variant's monitoring containers.
const (
	PrometheusIP = "10.77.0.3"
	GrafanaIP    = "10.77.0.4"
)

// Frontend is the instance users send requests to.
func (t Topology) Frontend() Instance { return t.Instances[0] }

// Services lists the service names in mesh order, each once.
func (t Topology) Services() []string {
	var out []string
	seen := map[string]bool{}
	for _, in := range t.Instances {
		if !seen[in.Service] {
			seen[in.Service] = true
			out = append(out, in.Service)
		}
	}
	return out
}

// Versions lists a service's instances in mesh order.
func (t Topology) Versions(service string) []Instance {
	var out []Instance
	for _, in := range t.Instances {
		if in.Service == service {
			out = append(out, in)
		}
	}
	return out
}

// Port is one port the sandbox binds on the host, and what it is for.
type Port struct {
	Port int
	What string // e.g. "reviews v2 sidecar admin"
}

// HostPorts lists every port the process sandbox binds, in ascending order.
func (t Topology) HostPorts() []Port {
	ports := []Port{{t.XDS, "control plane xDS"}, {t.HTTP, "control plane API"}, {t.Control, "sandbox control"}, {t.Prometheus, "prometheus (when installed)"}}
	for _, in := range t.Instances {
		who := in.Service + " " + in.Version
		ports = append(ports,
			Port{in.Inbound, who + " sidecar inbound listener"},
			Port{in.Outbound, who + " sidecar outbound listener"},
			Port{in.Admin, who + " sidecar admin"},
			Port{in.App, who + " app"},
		)
	}
	return ports
}

// Validate checks the base port leaves room for every port of the topology.
func (t Topology) Validate() error {
	if t.BasePort < 1024 || t.BasePort+PortSpan > 65535 {
		return fmt.Errorf("base port %d: must be between 1024 and %d", t.BasePort, 65535-PortSpan)
	}
	return nil
}
