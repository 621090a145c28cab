package sandbox

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the generated sandbox files (docker-compose.yaml, services, bootstraps)")

// generated lists every checked-in file derived from the topology, relative to sandbox/.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	compose, err := ComposeFile()
	require.NoError(t, err)
	svc, err := ServicesYAML(NewTopology(DefaultBasePort), servicesHeader)
	require.NoError(t, err)
	csvc, err := ServicesYAML(ComposeTopology(), composeServicesHeader)
	require.NoError(t, err)
	offline, err := ComposeOfflineOverride()
	require.NoError(t, err)
	tel, err := TelemetryYAML(NewTopology(DefaultBasePort), telemetryHeader)
	require.NoError(t, err)
	ctel, err := TelemetryYAML(ComposeTopology(), composeTelemetryHeader)
	require.NoError(t, err)
	files := map[string][]byte{
		filepath.Join("crds", TelemetryFile):        tel,
		filepath.Join(ComposeCRDDir, TelemetryFile): ctel,
		"docker-compose.yaml":                       compose,
		ComposeOfflineFile:                          offline,
		"compose/prometheus.yml":                    PrometheusConfig(),
		filepath.Join("crds", ServicesFile):         svc,
		filepath.Join(ComposeCRDDir, ServicesFile):  csvc,
	}
	boots, err := ComposeBootstraps()
	require.NoError(t, err)
	for name, b := range boots {
		files[filepath.Join(ComposeBootstrapDir, name)] = b
	}
	return files
}

// TestComposeFiles checks the generated files are up to date (-update rewrites them).
func TestComposeFiles(t *testing.T) {
	for name, want := range generated(t) {
		t.Run(name, func(t *testing.T) {
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
				require.NoError(t, os.WriteFile(name, want, 0o644))
			}
			got, err := os.ReadFile(name)
			require.NoError(t, err, "run go test ./sandbox -run TestComposeFiles -update")
			require.Equal(t, string(want), string(got), "%s is stale: run go test ./sandbox -run TestComposeFiles -update", name)
		})
	}
}

type composeFile struct {
	Name     string                    `json:"name"`
	Volumes  map[string]any            `json:"volumes"`
	Networks map[string]composeNetwork `json:"networks"`
	Services map[string]composeService `json:"services"`
}

type composeNetwork struct {
	IPAM struct {
		Config []struct {
			Subnet string `json:"subnet"`
		} `json:"config"`
	} `json:"ipam"`
}

type composeService struct {
	Image       string         `json:"image"`
	Build       map[string]any `json:"build"`
	Command     []string       `json:"command"`
	NetworkMode string         `json:"network_mode"`
	Networks    json2Networks  `json:"networks"`
	Ports       []string       `json:"ports"`
	Volumes     []string       `json:"volumes"`
	DependsOn   dependsOn      `json:"depends_on"`
	Environment map[string]any `json:"environment"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Timeout  string   `json:"timeout"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
	Profiles []string `json:"profiles"`
}

// dependsOn accepts both compose forms: a list of services (condition service_started), or a
// map of service → {condition: …}; it holds service → condition.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err == nil {
		*d = dependsOn{}
		for _, name := range names {
			(*d)[name] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `json:"condition"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*d = dependsOn{}
	for name, c := range m {
		(*d)[name] = c.Condition
	}
	return nil
}

// json2Networks accepts both compose forms: a list of names, or a map of name → settings.
type json2Networks map[string]struct {
	IPv4Address string `json:"ipv4_address"`
}

func (n *json2Networks) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err == nil {
		*n = json2Networks{}
		for _, name := range names {
			(*n)[name] = struct {
				IPv4Address string `json:"ipv4_address"`
			}{}
		}
		return nil
	}
	m := map[string]struct {
		IPv4Address string `json:"ipv4_address"`
	}{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*n = m
	return nil
}

// flagValue returns the value after name in args ("" when absent).
func flagValue(args []string, name string) string {
	i := slices.Index(args, name)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// TestComposeAgreesWithProcessTopology parses docker-compose.yaml as Docker would and checks it
// runs the same mesh as the process sandbox: services, versions, ports, sidecar parameters,
// bootstraps, and the Envoy version `make envoy` pins.
func TestComposeAgreesWithProcessTopology(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yaml")
	require.NoError(t, err)
	var cf composeFile
	require.NoError(t, yaml.UnmarshalStrict(raw, &cf))

	proc := NewTopology(DefaultBasePort)
	comp := ComposeTopology()
	require.Len(t, comp.Instances, len(proc.Instances))
	require.Equal(t, ComposeSubnet, cf.Networks["mesh"].IPAM.Config[0].Subnet)

	want := []string{"controlplane", "apply", "prometheus", "grafana"}
	for k, in := range comp.Instances {
		p := proc.Instances[k]
		require.Equal(t, []string{p.Service, p.Version, p.Calls}, []string{in.Service, in.Version, in.Calls})
		require.Equal(t, []int{p.Inbound, p.Outbound, p.Admin, p.App}, []int{in.Inbound, in.Outbound, in.Admin, in.App}, in.Name())
		want = append(want, in.Name(), in.Name()+"-sidecar")

		t.Run(in.Name(), func(t *testing.T) {
			side, ok := cf.Services[in.Name()+"-sidecar"]
			require.True(t, ok, "no sidecar container")
			require.Equal(t, EnvoyImage, side.Image)
			require.Equal(t, in.IP, side.Networks["mesh"].IPv4Address)
			require.Equal(t, "envoy", side.Command[0])
			require.Equal(t, SidecarArgs(p, flagValue(side.Command, "-c")), side.Command[1:], "sidecar flags differ from the process sandbox's")
			require.Equal(t, in.NodeID(), flagValue(side.Command, "--service-node"))
			require.Contains(t, side.Ports, "127.0.0.1:"+strconv.Itoa(in.Admin)+":"+strconv.Itoa(in.Admin))
			if in.Service == "frontend" {
				require.Contains(t, side.Ports, "127.0.0.1:"+strconv.Itoa(in.Inbound)+":"+strconv.Itoa(in.Inbound))
			}

			// The bootstrap the container mounts carries the same node and addresses.
			require.Equal(t, []string{"./" + ComposeBootstrapDir + ":/etc/wasmesh:ro"}, side.Volumes)
			boot := filepath.Join(ComposeBootstrapDir, strings.TrimPrefix(flagValue(side.Command, "-c"), "/etc/wasmesh/"))
			checkBootstrap(t, boot, in, comp)

			app, ok := cf.Services[in.Name()]
			require.True(t, ok, "no app container")
			require.Equal(t, SandboxImage, app.Image)
			require.Equal(t, "service:"+in.Name()+"-sidecar", app.NetworkMode)
			require.Equal(t, "demo", app.Command[0])
			require.Equal(t, in.AppAddress(), flagValue(app.Command, "-listen"))
			require.Equal(t, p.AppAddress(), flagValue(app.Command, "-listen"))
			require.Equal(t, p.OutboundAddress(), flagValue(app.Command, "-outbound"))
			require.Equal(t, in.Calls, flagValue(app.Command, "-next"))
			require.Equal(t, in.Version, flagValue(app.Command, "-version"))
		})
	}
	var got []string
	for name := range cf.Services {
		got = append(got, name)
	}
	require.ElementsMatch(t, want, got)

	cp := cf.Services["controlplane"]
	require.Equal(t, SandboxImage, cp.Image)
	require.Equal(t, "sandbox/Dockerfile", cp.Build["dockerfile"])
	require.Equal(t, comp.ControlPlaneIP, cp.Networks["mesh"].IPv4Address)
	require.Equal(t, ServeArgs(comp, "/data", "/wasmesh/build"), cp.Command)
	require.Equal(t, []string{"wasmesh-data:/data", "./compose/xds-key:/data/xds-key:ro"}, cp.Volumes, "the data volume and the demo xDS key")
	require.Contains(t, cf.Volumes, "wasmesh-data")
	require.NotNil(t, cp.Healthcheck)
	require.Equal(t, append([]string{"CMD"}, StatusArgs(proc, "/data")...), cp.Healthcheck.Test)

	// Start order, as in the process sandbox: the control plane answers, the sample resources
	// are applied, then the sidecars start, then the apps in their network namespaces.
	require.Equal(t, dependsOn{"controlplane": "service_healthy"}, cf.Services["apply"].DependsOn)
	for _, in := range comp.Instances {
		require.Equal(t, dependsOn{"apply": "service_completed_successfully"}, cf.Services[in.Name()+"-sidecar"].DependsOn, in.Name())
		require.Equal(t, dependsOn{in.Name() + "-sidecar": "service_started"}, cf.Services[in.Name()].DependsOn, in.Name())
	}

	// The apply container applies what the process sandbox applies at start (Services on the
	// compose network), files that exist in the repository (the image copies sandbox/ there).
	apply := cf.Services["apply"]
	require.Equal(t, ApplyArgs(comp, "/data", composeApplyPaths()...), apply.Command)
	require.Equal(t, []string{"wasmesh-data:/data:ro"}, apply.Volumes)
	var applied []string
	for i, a := range apply.Command {
		if a == "-f" {
			p := strings.TrimPrefix(apply.Command[i+1], "/wasmesh/sandbox/")
			_, err := os.Stat(p)
			require.NoError(t, err, "apply -f %s", apply.Command[i+1])
			applied = append(applied, filepath.Base(p))
		}
	}
	require.Equal(t, append([]string{ServicesFile}, startupFiles...), applied)

	// The image tag is the Envoy version `make envoy` installs.
	script, err := os.ReadFile("../scripts/envoy.sh")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^want=(\S+)$`).FindSubmatch(script)
	require.NotNil(t, m, "scripts/envoy.sh: no want=<version>")
	require.Equal(t, string(m[1]), EnvoyVersion)
	require.Equal(t, "envoyproxy/envoy:v"+string(m[1]), EnvoyImage)

	// The Dockerfile builds what the compose file runs.
	df, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	for _, s := range []string{"make build", "./cmd/wasmesh", "./sandbox/demo/cmd/demo", "/wasmesh/build", "/wasmesh/sandbox"} {
		require.Contains(t, string(df), s)
	}
}

// TestComposeOfflineOverride checks docker-compose.offline.yaml swaps every registry image of
// docker-compose.yaml for one built from OfflineContextDir, and leaves the images that have no
// offline build (Prometheus, Grafana) to the monitoring profile.
func TestComposeOfflineOverride(t *testing.T) {
	var base, over composeFile
	for path, cf := range map[string]*composeFile{"docker-compose.yaml": &base, ComposeOfflineFile: &over} {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, yaml.UnmarshalStrict(raw, cf), path)
	}
	builds := map[string]string{}
	for name, svc := range base.Services {
		o, ok := over.Services[name]
		require.True(t, ok, "%s: service %s has no offline setting", ComposeOfflineFile, name)
		switch svc.Image {
		case SandboxImage:
			require.Equal(t, OfflineSandboxImage, o.Image, name)
		case EnvoyImage:
			require.Equal(t, OfflineEnvoyImage, o.Image, name)
		default:
			require.Empty(t, o.Image, name)
			require.Equal(t, []string{MonitoringProfile}, o.Profiles, "%s: image %s has no offline build", name, svc.Image)
		}
		if o.Build != nil {
			require.NotContains(t, builds, o.Image, "%s: built twice", o.Image)
			// compose resolves the Dockerfile from the context, itself from sandbox/.
			ctx := o.Build["context"].(string)
			df := filepath.Join(ctx, o.Build["dockerfile"].(string))
			_, err := os.Stat(df)
			require.NoError(t, err, "%s: Dockerfile %s", name, df)
			builds[o.Image] = ctx + " " + df
		}
	}
	require.Len(t, over.Services, len(base.Services))
	// Each offline image is built once, from the context scripts/docker.sh stage writes, with
	// its Dockerfile from sandbox/compose/offline.
	require.Equal(t, map[string]string{
		OfflineSandboxImage: "../" + OfflineContextDir + "/sandbox ../sandbox/" + OfflineDockerfileDir + "/sandbox.Dockerfile",
		OfflineEnvoyImage:   "../" + OfflineContextDir + "/envoy ../sandbox/" + OfflineDockerfileDir + "/envoy.Dockerfile",
	}, builds)
}

// checkBootstrap reads an Envoy bootstrap and checks its node and addresses match the instance.
func checkBootstrap(t *testing.T, path string, in Instance, top Topology) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var b struct {
		Node struct {
			ID       string            `json:"id"`
			Cluster  string            `json:"cluster"`
			Metadata map[string]string `json:"metadata"`
		} `json:"node"`
		Admin struct {
			Address struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"address"`
		} `json:"admin"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &b))
	require.Equal(t, in.NodeID(), b.Node.ID)
	require.Equal(t, in.Service, b.Node.Cluster)
	require.Equal(t, map[string]string{
		"service": in.Service, "version": in.Version,
		"app_address": in.AppAddress(), "inbound_address": in.InboundAddress(), "outbound_address": in.OutboundAddress(),
	}, onlyKeys(b.Node.Metadata, "service", "version", "app_address", "inbound_address", "outbound_address"))
	require.Equal(t, in.AdminIP, b.Admin.Address.SocketAddress.Address)
	require.Equal(t, in.Admin, b.Admin.Address.SocketAddress.PortValue)
	require.Contains(t, string(raw), top.ControlPlaneIP, "bootstrap does not dial the control plane")
}

func onlyKeys(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
