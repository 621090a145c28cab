package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/observe"
)

// composeProject is the compose project the e2e test runs, so it never touches a sandbox a
// user started with the default project name (wasmesh-sandbox).
const composeProject = "wasmesh-e2e"

// errNoDocker marks `scripts/docker.sh up` exiting 3: no Docker engine on this machine.
var errNoDocker = errors.New("no usable Docker")

// dockerScript runs scripts/docker.sh with one subcommand and returns its stdout; its stderr
// (progress) goes to the test log.
func dockerScript(t *testing.T, ctx context.Context, cmd string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, filepath.Join("..", "scripts", "docker.sh"), cmd)
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	msg := strings.TrimSpace(stderr.String())
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return "", fmt.Errorf("%w (scripts/docker.sh %s): %s", errNoDocker, cmd, strings.TrimPrefix(msg, "docker: "))
	}
	if msg != "" {
		t.Logf("scripts/docker.sh %s:\n%s", cmd, msg)
	}
	if err != nil {
		return "", fmt.Errorf("scripts/docker.sh %s: %w\n%s", cmd, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// composeRunner runs Docker Compose on the sandbox's files (default: offline mode).
type composeRunner struct {
	t     *testing.T
	cmd   []string // e.g. ["docker", "compose"] or [".../.tools/bin/docker-compose"]
	files []string // nil: docker-compose.yaml and the offline override
}

func (c composeRunner) run(ctx context.Context, args ...string) (string, error) {
	files := c.files
	if files == nil {
		files = []string{"docker-compose.yaml", ComposeOfflineFile}
	}
	full := append(append([]string{}, c.cmd[1:]...), "-p", composeProject)
	for _, f := range files {
		full = append(full, "-f", f)
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, c.cmd[0], full...)
	// Compose >= 2.37 builds through Bake when asked to and warns when buildx is missing; its
	// own builder needs neither.
	cmd.Env = append(os.Environ(), "COMPOSE_BAKE=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", strings.Join(append(c.cmd, full...), " "), err, out)
	}
	return string(out), nil
}

func (c composeRunner) must(ctx context.Context, args ...string) string {
	c.t.Helper()
	out, err := c.run(ctx, args...)
	require.NoError(c.t, err)
	return out
}

// TestComposeSandbox runs sandbox/docker-compose.yaml for real, in its offline mode (images
// built from this checkout, no registry): `up --build`, every sidecar ACKed, the demo checks of
// the process sandbox (canary split, overrides, the fault, trace context, metrics on an admin
// port), an apply from the host CLI against the compose control plane, then `down -v` leaving
// no container, network or volume behind.
//
// Docker comes from scripts/docker.sh: it starts dockerd when it is not running (and the test
// stops it again), and installs Debian's docker.io first under CI=true. Without Docker the test
// skips with the script's message — except under CI=true, where it fails.
func TestComposeSandbox(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()

	up, err := dockerScript(t, ctx, "up")
	if errors.Is(err, errNoDocker) && os.Getenv("CI") != "true" {
		t.Skipf("%v (CI=true makes this a failure)", err)
	}
	require.NoError(t, err)
	if strings.HasPrefix(up, "started ") {
		t.Cleanup(func() {
			// t.Context is done by now: stopping dockerd gets its own bound.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := dockerScript(t, ctx, "down")
			require.NoError(t, err)
		})
	}
	composeCmd, err := dockerScript(t, ctx, "compose")
	require.NoError(t, err)
	_, err = dockerScript(t, ctx, "stage")
	require.NoError(t, err)
	c := composeRunner{t: t, cmd: strings.Fields(composeCmd)}

	// Compose itself reads both modes: the online file is valid as it stands, and the offline
	// override leaves Prometheus and Grafana to their profile.
	online := composeRunner{t: t, cmd: c.cmd, files: []string{"docker-compose.yaml"}}
	online.must(ctx, "config", "--quiet")
	services := func(r composeRunner, args ...string) []string {
		return strings.Fields(r.must(ctx, append(args, "config", "--services")...))
	}
	var want []string
	for name := range composeServices(t) {
		want = append(want, name)
	}
	require.ElementsMatch(t, want, services(online))
	require.ElementsMatch(t, want, services(c, "--profile", MonitoringProfile))
	require.ElementsMatch(t, slices.DeleteFunc(want, func(s string) bool { return s == "prometheus" || s == "grafana" }), services(c))

	top := ComposeTopology()
	if err := checkPorts(NewTopology(DefaultBasePort)); err != nil {
		t.Fatalf("the compose sandbox publishes the default sandbox ports on 127.0.0.1: %v", err)
	}

	// Registered before `up`, so a failed start is torn down too.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() {
			ps, _ := c.run(ctx, "ps", "-a")
			logs, _ := c.run(ctx, "logs", "--no-color", "--tail", "30")
			t.Logf("--- docker compose ps -a ---\n%s\n--- docker compose logs (last lines) ---\n%s", ps, logs)
		}
		out, err := c.run(ctx, "down", "-v", "--remove-orphans", "--timeout", "5")
		require.NoError(t, err, out)
		checkNothingLeft(t, ctx)
		require.NoError(t, checkPorts(NewTopology(DefaultBasePort)), "ports still bound after down")
	})

	start := time.Now()
	c.must(ctx, "up", "--build", "--detach")
	t.Logf("docker compose up --build: %.1fs", time.Since(start).Seconds())

	// The CLI on the host reaches the compose control plane on its published port, with the
	// token the control plane wrote into its volume.
	home := t.TempDir()
	client := &api.Client{BaseURL: "http://" + hostPort("127.0.0.1", top.HTTP)}
	waitComposeAcked(t, ctx, c, client, home, top)
	t.Logf("every sidecar ACKed and ready %.1fs after up", time.Since(start).Seconds())

	url := "http://" + hostPort("127.0.0.1", top.Frontend().Inbound) + "/"
	admin := "http://" + hostPort("127.0.0.1", top.Frontend().Admin)
	waitFrontend(t, ctx, url)
	checkDemoTraffic(t, url, admin, routeWeights(t, filepath.Join("crds", "reviews-canary.yaml")))

	t.Run("graph and traces in the control plane's API", func(t *testing.T) {
		// The control plane reads the sidecars' admins on the compose network
		// (--scrape-remote) and keeps the spans their Zipkin tracers send it.
		deadline := time.Now().Add(90 * time.Second)
		for {
			for range 10 {
				get(t, url, nil)
			}
			var g observe.Graph
			var tr api.TracesResponse
			gerr := getAPI(ctx, client, "/graph?window=30s", &g)
			terr := getAPI(ctx, client, "/traces?service=reviews&service=ratings", &tr)
			edge := slices.ContainsFunc(g.Edges, func(e observe.GraphEdge) bool { return e.ID == "reviews:v1->ratings:v1" && e.RPS > 0 })
			deep := slices.ContainsFunc(tr.Traces, func(s observe.TraceSummary) bool { return len(s.Sidecars) >= 3 })
			if gerr == nil && terr == nil && edge && deep {
				break
			}
			require.True(t, time.Now().Before(deadline), "graph %v %+v (problems %v); traces %v %d", gerr, g.Edges, g.Problems, terr, len(tr.Traces))
			time.Sleep(time.Second)
		}
	})

	t.Run("apply from the host CLI", func(t *testing.T) {
		before := routeWeights(t, filepath.Join("crds", "reviews-canary.yaml"))
		after := routeWeights(t, filepath.Join("crds", "canary-50.yaml"))
		wasmesh := filepath.Join("..", OfflineContextDir, "sandbox", "rootfs", "usr", "local", "bin", "wasmesh")
		cmd := exec.CommandContext(ctx, wasmesh, "apply", "--server", client.BaseURL, "--data-dir", home,
			"-f", filepath.Join("crds", "canary-50.yaml"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "trafficroute/reviews configured\n", string(out))
		waitComposeAcked(t, ctx, c, client, home, top)

		// A key that moves from v1 to v2 shows when the sidecars run the new weights.
		var moved string
		for i := range 1000 {
			k := fmt.Sprintf("e2e-user-%d", i)
			if before.PickKey(k) == "v1" && after.PickKey(k) == "v2" {
				moved = k
				break
			}
		}
		require.NotEmpty(t, moved)
		deadline := time.Now().Add(10 * time.Second)
		for {
			rep, _ := get(t, url, map[string]string{"x-user": moved})
			if rep.Hop("reviews").Version == "v2" {
				break
			}
			require.True(t, time.Now().Before(deadline), "x-user %s still reaches reviews v1 10s after every sidecar ACKed canary-50.yaml", moved)
			time.Sleep(100 * time.Millisecond)
		}
		checkStickySplit(t, url, after, 50)
	})
}

// getAPI GETs an API path (after /api/v1) with the client's token into v.
func getAPI(ctx context.Context, c *api.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+api.Prefix+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// waitComposeAcked copies the API token out of the control plane's volume into home (once),
// then polls until every sidecar of the topology is connected and ACKed every xDS type's latest version, the
// sample resources are applied, and every sidecar's Envoy reports LIVE on its admin /ready
// (its listeners warmed: the Wasm module compiled). A NACK fails at once, naming the node.
// Bound: 5 minutes. Five Envoys compile the filter module at once on their main threads: on
// two busy cores that took 60 to 140 seconds here.
func waitComposeAcked(t *testing.T, ctx context.Context, c composeRunner, client *api.Client, home string, top Topology) {
	t.Helper()
	const bound = 5 * time.Minute
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var last string
	for {
		if client.Token == "" {
			if _, err := c.run(ctx, "cp", "controlplane:/data/"+api.TokenFile, filepath.Join(home, api.TokenFile)); err == nil {
				tok, err := api.ReadToken(home)
				require.NoError(t, err)
				client.Token = tok
			} else {
				last = "no API token in the control plane's volume yet"
			}
		}
		if client.Token != "" {
			last = composeReady(ctx, client, top)
			if last == "" {
				return
			}
			if strings.HasPrefix(last, "NACK") {
				t.Fatal(last)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the compose sandbox is not ready after %s: %s", bound, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// composeReady returns "" when the sample route is applied, every sidecar of the topology is
// ACKed and its admin (published on the host) reports LIVE; else what is missing.
func composeReady(ctx context.Context, client *api.Client, top Topology) string {
	n := len(top.Instances)
	if _, err := client.Get(ctx, crd.Key{Kind: crd.KindTrafficRoute, Name: "reviews"}); err != nil {
		return fmt.Sprintf("trafficroute/reviews: %v (the apply container has not applied sandbox/crds yet)", err)
	}
	st, err := client.Status(ctx)
	if err != nil {
		return fmt.Sprintf("status: %v", err)
	}
	nodes := NodeStates(st)
	var waiting []string
	for _, nd := range nodes {
		if len(nd.Errors) > 0 {
			return fmt.Sprintf("NACK from %s: %s", nd.ID, strings.Join(nd.Errors, "; "))
		}
		if !nd.Acked {
			waiting = append(waiting, nd.ID)
		}
	}
	if len(nodes) < n || len(waiting) > 0 {
		return fmt.Sprintf("%d of %d sidecars connected, not ACKed yet: %v", len(nodes), n, waiting)
	}
	for _, in := range top.Instances {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort("127.0.0.1", in.Admin)+"/ready", nil)
		if err != nil {
			return err.Error()
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Sprintf("sidecar %s admin /ready: %v", in.NodeID(), err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Sprintf("sidecar %s admin /ready: %d %s (Envoy still initializing: compiling the Wasm module)", in.NodeID(), res.StatusCode, strings.TrimSpace(string(body)))
		}
	}
	return ""
}

// waitFrontend waits until a request crosses the whole mesh (bounded: 30s after every sidecar
// is ready).
func waitFrontend(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		req.Header.Set("x-canary", "never")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		require.True(t, time.Now().Before(deadline), "the frontend does not answer through the mesh 30s after every sidecar is ready: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNothingLeft fails when any container, network or volume of the test's compose project
// remains.
func checkNothingLeft(t *testing.T, ctx context.Context) {
	t.Helper()
	label := "label=com.docker.compose.project=" + composeProject
	for _, what := range [][]string{
		{"ps", "--all", "--quiet", "--filter", label},
		{"network", "ls", "--quiet", "--filter", label},
		{"volume", "ls", "--quiet", "--filter", label},
	} {
		out, err := exec.CommandContext(ctx, "docker", what...).CombinedOutput()
		require.NoError(t, err, "docker %s: %s", strings.Join(what, " "), out)
		require.Empty(t, strings.TrimSpace(string(out)), "docker %s: left behind after down -v", strings.Join(what, " "))
	}
}

// composeServices reads docker-compose.yaml's services.
func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	raw, err := os.ReadFile("docker-compose.yaml")
	require.NoError(t, err)
	var cf composeFile
	require.NoError(t, yaml.UnmarshalStrict(raw, &cf))
	return cf.Services
}
