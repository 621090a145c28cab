package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/filters/telemetry"
)

// ServicesFile is the name of the rendered Service resources, in sandbox/crds (default ports),
// sandbox/compose/crds (container IPs) and the sandbox's data directory (its --base-port).
const ServicesFile = "services.yaml"

// startupFiles are the sample resources in sandbox/crds the sandbox applies at start, after
// ServicesFile (TelemetryFile is rendered for the topology, like ServicesFile). The other
// files there (canary-50.yaml) are for users to apply.
var startupFiles = []string{"reviews-canary.yaml", "ratings-fault.yaml", "telemetry.yaml", "security.yaml"}

// TelemetryFile is the sandbox's Telemetry, rendered like ServicesFile: its tracing provider
// sends spans to the topology's control plane.
const TelemetryFile = "telemetry.yaml"

// TraceSampling is the percentage of requests the sandbox traces.
const TraceSampling = 100.0

// Telemetry returns the sandbox's Telemetry for every Service: request metrics with every
// dimension, a JSON access-log line per request, W3C trace context, and Envoy's Zipkin tracer
// on every sidecar sending spans to the control plane (its UI shows them).
func Telemetry(t Topology) *crd.Telemetry {
	on, sampling, all := true, 100.0, TraceSampling
	return &crd.Telemetry{
		TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindTelemetry},
		Metadata: crd.ObjectMeta{Name: "mesh"},
		Spec: crd.TelemetrySpec{
			Metrics:   &crd.Metrics{Dimensions: telemetry.Dimensions()},
			AccessLog: &crd.AccessLog{Enabled: &on, Sampling: &sampling},
			Tracing: &crd.Tracing{StartWhenAbsent: true, Sampling: &all, Provider: &crd.TracingProvider{
				Zipkin: &crd.ZipkinProvider{Collector: t.HTTPAddress()},
			}},
		},
	}
}

// TelemetryYAML renders Telemetry(t).
func TelemetryYAML(t Topology, header string) ([]byte, error) {
	b, err := yaml.Marshal(Telemetry(t))
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return append([]byte(header), b...), nil
}

const telemetryHeader = `# Every service: request metrics by source and destination service and version, route,
# method and response code class (/stats/prometheus on each sidecar admin; the control plane's
# graph reads them), a JSON access-log line per request, W3C trace context (a trace starts at
# the first sidecar when the request has none), and Envoy's Zipkin tracer on every sidecar
# sending spans to the control plane, which shows the last traces in its UI.
# GENERATED from sandbox.NewTopology(18000) by ` + "`go test ./sandbox -run TestComposeFiles -update`" + `;
# ` + "`wasmesh sandbox --base-port N`" + ` renders and applies the same for its own ports.
`

const composeTelemetryHeader = `# The Docker variant's Telemetry (spans go to the controlplane container).
# GENERATED from sandbox.ComposeTopology() by ` + "`go test ./sandbox -run TestComposeFiles -update`" + `.
`

// ServicePort is the port of every demo Service (clients may write `reviews:9080`).
const ServicePort = 9080

// Services returns one Service resource per service of the topology, each version's endpoint
// being its sidecar's inbound address.
func Services(t Topology) []*crd.Service {
	var out []*crd.Service
	for _, name := range t.Services() {
		svc := &crd.Service{
			TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindService},
			Metadata: crd.ObjectMeta{Name: name},
			Spec:     crd.ServiceSpec{Port: ServicePort},
		}
		for _, in := range t.Versions(name) {
			svc.Spec.Versions = append(svc.Spec.Versions, crd.ServiceVersion{
				Name: in.Version, Endpoints: []string{in.InboundAddress()},
			})
		}
		svc.Spec.DefaultVersion = svc.Spec.Versions[0].Name
		out = append(out, svc)
	}
	return out
}

// ServicesYAML renders Services(t) as a multi-document YAML file.
func ServicesYAML(t Topology, header string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i, svc := range Services(t) {
		b, err := yaml.Marshal(svc)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Metadata.Name, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// servicesHeader heads the checked-in rendering of the process sandbox's Services.
const servicesHeader = `# One Service per demo service; each version's endpoint is its sidecar's inbound listener.
# GENERATED from sandbox.NewTopology(18000) by ` + "`go test ./sandbox -run TestComposeFiles -update`" + `;
# ` + "`wasmesh sandbox --base-port N`" + ` renders and applies the same for its own ports.
`

// composeServicesHeader heads the Docker variant's Services.
const composeServicesHeader = `# One Service per demo service, endpoints on the compose network (docker-compose.yaml).
# GENERATED from sandbox.ComposeTopology() by ` + "`go test ./sandbox -run TestComposeFiles -update`" + `.
`

// startupPaths writes the topology's Services into dir and returns the files to apply at
// start, in order: the Services, then startupFiles from crdDir.
func startupPaths(t Topology, crdDir, dir string) ([]string, error) {
	b, err := ServicesYAML(t, servicesHeader)
	if err != nil {
		return nil, err
	}
	svc, err := writeFile(dir, ServicesFile, b)
	if err != nil {
		return nil, fmt.Errorf("write services: %w", err)
	}
	paths := []string{svc}
	for _, f := range startupFiles {
		if f == TelemetryFile {
			b, err := TelemetryYAML(t, telemetryHeader)
			if err != nil {
				return nil, err
			}
			p, err := writeFile(dir, TelemetryFile, b)
			if err != nil {
				return nil, fmt.Errorf("write telemetry: %w", err)
			}
			paths = append(paths, p)
			continue
		}
		p := filepath.Join(crdDir, f)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("sample resources: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
