package sandbox

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

// Images and names of the Docker variant (docker-compose.yaml).
const (
	// SandboxImage is built from sandbox/Dockerfile: the wasmesh CLI, the demo app and the
	// built filters.
	SandboxImage = "wasmesh-sandbox:dev"
	// PrometheusImage and GrafanaImage watch the sidecars' /stats/prometheus.
	PrometheusImage = "prom/prometheus:v3.5.0"
	GrafanaImage    = "grafana/grafana:12.1.0"
	// ComposeBootstrapDir is where the rendered sidecar bootstraps of the Docker variant live,
	// relative to sandbox/.
	ComposeBootstrapDir = "compose/bootstrap"
	// ComposeCRDDir holds the Service resources of the Docker variant (endpoints on container
	// IPs), relative to sandbox/; the other sample resources are shared with the process
	// sandbox (sandbox/crds).
	ComposeCRDDir = "compose/crds"
	// HostPrometheusPort and HostGrafanaPort are where the Docker variant publishes them.
	HostPrometheusPort = 9090
	HostGrafanaPort    = 3000
)

// The offline mode of the Docker variant (docker-compose.offline.yaml, an override file): the
// same services from images built out of this checkout's binaries and the installed Envoy,
// with no registry at all.
const (
	// ComposeOfflineFile is the override file, relative to sandbox/.
	ComposeOfflineFile = "docker-compose.offline.yaml"
	// OfflineSandboxImage holds what SandboxImage holds, from binaries built on the host
	// (sandbox/compose/offline/sandbox.Dockerfile).
	OfflineSandboxImage = "wasmesh-sandbox:offline"
	// OfflineEnvoyImage is the Envoy `make envoy` installs, with the libraries ldd lists for it
	// (sandbox/compose/offline/envoy.Dockerfile).
	OfflineEnvoyImage = "wasmesh-envoy:v" + EnvoyVersion + "-offline"
	// OfflineContextDir holds the two images' build contexts, relative to the repository root;
	// `scripts/docker.sh stage` writes them.
	OfflineContextDir = "build/docker"
	// OfflineDockerfileDir holds the offline images' Dockerfiles, relative to sandbox/.
	OfflineDockerfileDir = "compose/offline"
	// MonitoringProfile is the compose profile the offline mode puts Prometheus and Grafana
	// in: their images exist only in a registry, so offline they do not start unless asked.
	MonitoringProfile = "monitoring"
)

// ComposeFile renders sandbox/docker-compose.yaml from ComposeTopology.
func ComposeFile() ([]byte, error) {
	t := ComposeTopology()
	var buf bytes.Buffer
	err := composeTmpl.Execute(&buf, struct {
		T                       Topology
		EnvoyImage, Image       string
		PromImage, GrafanaImage string
		PromIP, GrafanaIP       string
		PromPort, GrafanaPort   int
		BootstrapDir, CRDDir    string
		Subnet                  string
		ServeArgs, ApplyArgs    []string
		HealthArgs              []string
	}{
		T: t, EnvoyImage: EnvoyImage, Image: SandboxImage,
		PromImage: PrometheusImage, GrafanaImage: GrafanaImage,
		PromIP: PrometheusIP, GrafanaIP: GrafanaIP,
		PromPort: HostPrometheusPort, GrafanaPort: HostGrafanaPort,
		BootstrapDir: ComposeBootstrapDir, CRDDir: ComposeCRDDir,
		Subnet:     ComposeSubnet,
		ServeArgs:  ServeArgs(t, "/data", "/wasmesh/build"),
		ApplyArgs:  ApplyArgs(t, "/data", composeApplyPaths()...),
		HealthArgs: append([]string{"CMD"}, StatusArgs(NewTopology(DefaultBasePort), "/data")...),
	})
	if err != nil {
		return nil, fmt.Errorf("docker-compose.yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// ComposeOfflineOverride renders sandbox/docker-compose.offline.yaml: every container of
// ComposeFile on the offline images, which compose builds from the contexts in
// OfflineContextDir, and the monitoring containers moved to MonitoringProfile.
func ComposeOfflineOverride() ([]byte, error) {
	var buf bytes.Buffer
	err := offlineTmpl.Execute(&buf, struct {
		T                  Topology
		Image, EnvoyImage  string
		Contexts, Profile  string
		Dockerfiles        string
		OnlineEnvoyImage   string
		OnlineSandboxImage string
	}{
		T: ComposeTopology(), Image: OfflineSandboxImage, EnvoyImage: OfflineEnvoyImage,
		Contexts: "../" + OfflineContextDir, Profile: MonitoringProfile,
		// Relative to a context, two levels below the repository root.
		Dockerfiles:      "../../../sandbox/" + OfflineDockerfileDir,
		OnlineEnvoyImage: EnvoyImage, OnlineSandboxImage: SandboxImage,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ComposeOfflineFile, err)
	}
	return buf.Bytes(), nil
}

// composeApplyPaths are the files the Docker variant's apply container applies, in order: the
// Services on the compose network, then the same startupFiles as the process sandbox.
func composeApplyPaths() []string {
	paths := []string{"/wasmesh/sandbox/" + ComposeCRDDir + "/" + ServicesFile}
	for _, f := range startupFiles {
		if f == TelemetryFile {
			paths = append(paths, "/wasmesh/sandbox/"+ComposeCRDDir+"/"+f)
			continue
		}
		paths = append(paths, "/wasmesh/sandbox/crds/"+f)
	}
	return paths
}

// SidecarArgs are Envoy's command-line arguments for an instance's sidecar (after the binary),
// the same for the process sandbox and the Docker variant.
func SidecarArgs(inst Instance, bootstrap string) []string {
	return []string{
		"-c", bootstrap,
		"--disable-hot-restart",
		"--concurrency", "1",
		"--log-level", "warn",
		"--component-log-level", "wasm:info",
		"--service-node", inst.NodeID(),
		"--service-cluster", inst.Service,
	}
}

// DemoArgs are the demo app's command-line arguments (sandbox/demo/cmd/demo) for an instance.
func DemoArgs(inst Instance) []string {
	args := []string{
		"-service", inst.Service, "-version", inst.Version, "-instance", inst.NodeID(),
		"-listen", inst.AppAddress(), "-outbound", inst.OutboundAddress(),
	}
	if inst.Calls != "" {
		args = append(args, "-next", inst.Calls)
	}
	return args
}

// PrometheusConfig renders the Docker variant's prometheus.yml: one scrape target per sidecar
// admin, at /stats/prometheus.
func PrometheusConfig() []byte {
	t := ComposeTopology()
	var b strings.Builder
	b.WriteString("# GENERATED from sandbox.ComposeTopology() by `go test ./sandbox -run TestComposeFiles -update`.\n")
	b.WriteString("global:\n  scrape_interval: 5s\nscrape_configs:\n- job_name: wasmesh-sidecars\n  metrics_path: /stats/prometheus\n  static_configs:\n")
	for _, in := range t.Instances {
		fmt.Fprintf(&b, "  - targets: [\"%s:%d\"]\n    labels: {node: %s, sidecar_service: %s, sidecar_version: %s}\n",
			in.IP, in.Admin, in.NodeID(), in.Service, in.Version)
	}
	return []byte(b.String())
}

func quoteList(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

var composeTmpl = template.Must(template.New("compose").Funcs(template.FuncMap{
	"list": quoteList,
	"sidecar": func(in Instance) string {
		return quoteList(append([]string{"envoy"}, SidecarArgs(in, "/etc/wasmesh/"+in.Name()+".yaml")...))
	},
	"demo": func(in Instance) string { return quoteList(append([]string{"demo"}, DemoArgs(in)...)) },
}).Parse(`# The wasmesh sandbox for Docker: the same mesh as ` + "`wasmesh sandbox`" + ` (docs/sandbox.md).
# GENERATED from sandbox.ComposeTopology() by ` + "`go test ./sandbox -run TestComposeFiles -update`" + `:
# edit sandbox/topology.go or sandbox/compose.go, not this file.
#
#   docker compose -f sandbox/docker-compose.yaml up --build
#   curl -s 127.0.0.1:{{.T.Frontend.Inbound}}/
name: wasmesh-sandbox

volumes:
  wasmesh-data: {}  # the control plane's store and API token (the apply container reads it)

networks:
  mesh:
    ipam:
      config:
      - subnet: {{.Subnet}}

services:
  controlplane:
    build: {context: .., dockerfile: sandbox/Dockerfile}
    image: {{.Image}}
    command: {{list .ServeArgs}}
    # The demo's xDS key (compose/xds-key, development only): the checked-in sidecar
    # bootstraps carry credentials minted from it (docs/conventions.md, "Sidecar credentials").
    volumes: ["wasmesh-data:/data", "./compose/xds-key:/data/xds-key:ro"]
    # Healthy once its API answers with the token it wrote into the volume.
    healthcheck: {test: {{list .HealthArgs}}, interval: 2s, timeout: 5s, retries: 30}
    networks: {mesh: {ipv4_address: {{.T.ControlPlaneIP}}}}
    ports: ["127.0.0.1:{{.T.XDS}}:{{.T.XDS}}", "127.0.0.1:{{.T.HTTP}}:{{.T.HTTP}}"]

  apply:
    image: {{.Image}}
    command: {{list .ApplyArgs}}
    volumes: ["wasmesh-data:/data:ro"]
    depends_on: {controlplane: {condition: service_healthy}}
    networks: [mesh]
{{range .T.Instances}}
  {{.Name}}-sidecar:
    image: {{$.EnvoyImage}}
    command: {{sidecar .}}
    volumes: ["./{{$.BootstrapDir}}:/etc/wasmesh:ro"]
    # As in the process sandbox, sidecars start once the sample resources are applied.
    depends_on: {apply: {condition: service_completed_successfully}}
    networks: {mesh: {ipv4_address: {{.IP}}}}
    ports: [{{if eq .Service "frontend"}}"127.0.0.1:{{.Inbound}}:{{.Inbound}}", {{end}}"127.0.0.1:{{.Admin}}:{{.Admin}}"]

  {{.Name}}:
    image: {{$.Image}}
    command: {{demo .}}
    network_mode: "service:{{.Name}}-sidecar"
    depends_on: [{{.Name}}-sidecar]
{{end}}
  prometheus:
    image: {{.PromImage}}
    command: ["--config.file=/etc/prometheus/prometheus.yml"]
    volumes: ["./compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro"]
    networks: {mesh: {ipv4_address: {{.PromIP}}}}
    ports: ["127.0.0.1:{{.PromPort}}:9090"]

  grafana:
    image: {{.GrafanaImage}}
    environment: {GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: Admin}
    volumes:
    - ./grafana/provisioning:/etc/grafana/provisioning:ro
    - ./grafana/wasmesh.json:/var/lib/grafana/dashboards/wasmesh.json:ro
    depends_on: [prometheus]
    networks: {mesh: {ipv4_address: {{.GrafanaIP}}}}
    ports: ["127.0.0.1:{{.GrafanaPort}}:3000"]
`))

var offlineTmpl = template.Must(template.New("offline").Parse(`# The offline mode of the Docker sandbox: docker-compose.yaml's containers on images built from
# this checkout (no registry at all). Used as an override file (docs/sandbox.md):
#
#   scripts/docker.sh stage   # writes the build contexts into build/docker/ (static wasmesh and
#                             # demo, the filters, the installed Envoy and its libraries)
#   docker compose -f sandbox/docker-compose.yaml -f sandbox/docker-compose.offline.yaml up --build
#
# {{.OnlineSandboxImage}} becomes {{.Image}}, {{.OnlineEnvoyImage}} becomes {{.EnvoyImage}}; Prometheus
# and Grafana have no offline image, so they only start with --profile {{.Profile}}.
# GENERATED from sandbox.ComposeTopology() by ` + "`go test ./sandbox -run TestComposeFiles -update`" + `.

services:
  controlplane:
    build: {context: {{.Contexts}}/sandbox, dockerfile: {{.Dockerfiles}}/sandbox.Dockerfile}
    image: {{.Image}}

  apply:
    image: {{.Image}}
{{range $i, $in := .T.Instances}}
  {{.Name}}-sidecar:
{{- if eq $i 0}}
    build: {context: {{$.Contexts}}/envoy, dockerfile: {{$.Dockerfiles}}/envoy.Dockerfile}
{{- end}}
    image: {{$.EnvoyImage}}

  {{.Name}}:
    image: {{$.Image}}
{{end}}
  prometheus:
    profiles: [{{.Profile}}]

  grafana:
    profiles: [{{.Profile}}]
`))
