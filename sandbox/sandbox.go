package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/internal/bootstrap"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/sandbox/demo"
)

// ControlPlane is the control plane the sandbox runs its sidecars against.
type ControlPlane interface {
	// Apply applies resource files in one atomic apply, as `wasmesh apply -f` does, and returns
	// one line per resource (`trafficroute/reviews created`).
	Apply(ctx context.Context, paths []string) ([]string, error)
	// Nodes reports every connected Envoy.
	Nodes(ctx context.Context) ([]NodeState, error)
	// Credential returns a sidecar's xDS credential (its bootstrap sends it).
	Credential(ctx context.Context, nodeID string) (string, error)
	// Home is the control plane's data directory (store, API token): the CLI finds the token
	// with WASMESH_HOME set to it.
	Home() string
	// Close stops the control plane and releases its ports and store.
	Close() error
}

// NodeState is one connected Envoy as the control plane sees it.
type NodeState struct {
	ID string
	// Acked is true when the node runs every resource type's latest version.
	Acked bool
	// Errors are NACK messages, empty when the node accepted everything.
	Errors []string
}

// ControlPlaneFunc starts a control plane serving the topology's xDS and HTTP addresses with
// its store in dataDir and the filter modules from buildDir.
type ControlPlaneFunc func(ctx context.Context, t Topology, dataDir, buildDir string) (ControlPlane, error)

// Options configure a sandbox run. The zero value of each field has a sensible default.
type Options struct {
	// BasePort is the first port of the sandbox's block (default DefaultBasePort).
	BasePort int
	// DataDir holds the store, bootstraps and sidecar logs; default a temporary directory,
	// removed on Stop.
	DataDir string
	// Root is the repository root (default: found from the working directory).
	Root string
	// Envoy is the Envoy binary (default: internal/envoybin.Find).
	Envoy string
	// NoBuild skips `scripts/build-wasm.sh` (the filters must then be built already).
	NoBuild bool
	// ReadyTimeout bounds the wait for every sidecar to load its config (default 3 minutes:
	// each Envoy compiles the filters' Wasm module first, a minute or more when five start at
	// once on a busy 2-core machine).
	ReadyTimeout time.Duration
	// Out receives the progress lines and the what-to-try text (default io.Discard).
	Out io.Writer
	// ControlPlane starts the control plane (default: the in-process wasmesh control plane,
	// with CA).
	ControlPlane ControlPlaneFunc
	// CA configures the in-process control plane's certificate authority (certificate TTL,
	// rotation jitter, trust domain; docs/security.md).
	CA ca.Options
	// Bootstrap renders sidecar bootstraps (default internal/bootstrap.Render, as envoy-configs).
	Bootstrap BootstrapFunc
	// Prometheus is the Prometheus binary to run, scraping every sidecar, for the control
	// plane's graph to ask ("": none; the control plane scrapes the sidecars itself). See
	// FindPrometheus.
	Prometheus string
}

// Sandbox is a running sandbox.
type Sandbox struct {
	topo     Topology
	opts     Options
	out      io.Writer
	dataDir  string
	tempDir  bool
	envoy    string
	control  *http.Server // the control endpoint (chaos.go)
	stopping chan struct{}

	mu       sync.Mutex // guards cp, apps and sidecars (Kill, Restart, Stop)
	cp       ControlPlane
	prom     *sidecar       // Prometheus, when it runs
	apps     []*demo.Server // by instance; nil while killed
	sidecars []*sidecar     // by instance

	stopOnce sync.Once
	stopErr  error
}

// Topology is the running sandbox's topology.
func (s *Sandbox) Topology() Topology { return s.topo }

// DataDir is where the sandbox keeps its store, bootstraps and logs.
func (s *Sandbox) DataDir() string { return s.dataDir }

// Pids are the process ids of the sidecars the sandbox started.
func (s *Sandbox) Pids() []int {
	var out []int
	for _, sc := range s.sidecars {
		out = append(out, sc.Pid())
	}
	return out
}

// Run starts the sandbox, prints what to try, and runs until ctx is done or d elapses (d = 0:
// until ctx is done); then it stops everything.
func Run(ctx context.Context, opts Options, d time.Duration) error {
	sb, err := Start(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(opts.Out, "\ninterrupted while starting: everything started so far is stopped")
			return nil
		}
		return err
	}
	sb.PrintTry()
	var timeout <-chan time.Time
	if d > 0 {
		timeout = time.After(d)
	}
	// A sidecar, app or control plane that dies is reported (chaos.go) and the rest keeps
	// running: the sandbox is where users watch the mesh survive it.
	select {
	case <-ctx.Done():
		fmt.Fprintln(sb.out, "\nstopping the sandbox…")
	case <-timeout:
		fmt.Fprintf(sb.out, "\n--duration %s elapsed: stopping the sandbox…\n", d)
	}
	if err := sb.Stop(); err != nil {
		return err
	}
	fmt.Fprintln(sb.out, "sandbox stopped: every sidecar exited, ports released")
	return nil
}

func (s *Sandbox) step(format string, args ...any) {
	fmt.Fprintf(s.out, "  ✓ "+format+"\n", args...)
}

// Start brings the sandbox up: checks ports, builds the filters, starts the control plane,
// applies the sample resources, starts the demo apps and their sidecars, and waits until every
// sidecar runs its config and the frontend answers through the mesh. On error everything
// already started is stopped.
func Start(ctx context.Context, opts Options) (_ *Sandbox, err error) {
	if opts.BasePort == 0 {
		opts.BasePort = DefaultBasePort
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 3 * time.Minute
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Bootstrap == nil {
		opts.Bootstrap = bootstrap.Render
	}
	if opts.ControlPlane == nil {
		opts.ControlPlane = ControlPlaneWithCA(opts.CA)
	}
	if opts.Root == "" {
		opts.Root = envoybin.RepoRoot()
		if opts.Root == "" {
			return nil, errors.New("run the sandbox inside the wasmesh repository (no go.mod of github.com/wasmesh/wasmesh above the working directory)")
		}
	}
	s := &Sandbox{topo: NewTopology(opts.BasePort), opts: opts, out: opts.Out, stopping: make(chan struct{})}
	if err := s.topo.Validate(); err != nil {
		return nil, fmt.Errorf("--base-port: %w", err)
	}
	fmt.Fprintf(s.out, "wasmesh sandbox: frontend → reviews v1/v2/v3 → ratings, each behind an Envoy sidecar\n")
	if err := checkPorts(s.topo); err != nil {
		return nil, err
	}
	s.step("ports %d-%d are free", s.topo.BasePort, s.topo.BasePort+PortSpan-1)

	if err := s.buildFilters(ctx); err != nil {
		return nil, err
	}
	envoy := opts.Envoy
	if envoy == "" {
		bin, err := envoybin.Find(opts.Root)
		if err != nil {
			return nil, fmt.Errorf("envoy: %w", err)
		}
		envoy = bin.Path
		s.step("envoy %s (%s)", bin.Version, bin.Path)
	} else {
		v, err := envoybin.Version(envoy)
		if err != nil {
			return nil, fmt.Errorf("--envoy: %w", err)
		}
		s.step("envoy %s (%s)", v, envoy)
	}
	s.envoy = envoy

	defer func() {
		if err != nil {
			if serr := s.Stop(); serr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", serr))
			}
		}
	}()
	s.dataDir = opts.DataDir
	if s.dataDir == "" {
		if s.dataDir, err = os.MkdirTemp("", "wasmesh-sandbox-"); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		s.tempDir = true
	} else if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}

	if opts.Prometheus != "" {
		if s.prom, err = startPrometheus(ctx, opts.Prometheus, s.topo, filepath.Join(s.dataDir, "prometheus")); err != nil {
			return nil, err
		}
		s.topo.MetricsURL = "http://" + s.topo.Addr(s.topo.Prometheus)
		s.step("prometheus     %s scraping every sidecar every %v (the graph asks it)", s.topo.MetricsURL, PrometheusScrapeInterval)
	}
	buildDir := filepath.Join(opts.Root, "build")
	s.cp, err = opts.ControlPlane(ctx, s.topo, filepath.Join(s.dataDir, "controlplane"), buildDir)
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	s.step("control plane  xDS %s, API and modules http://%s", s.topo.Addr(s.topo.XDS), s.topo.Addr(s.topo.HTTP))
	if u := s.UIURL(); u != "" {
		s.step("web UI         %s", u)
	}

	paths, err := startupPaths(s.topo, filepath.Join(opts.Root, "sandbox", "crds"), s.dataDir)
	if err != nil {
		return nil, err
	}
	applied, err := s.cp.Apply(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("apply sample resources: %w", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	s.step("applied        %s (%s)", strings.Join(names, " "), countActions(applied))

	for _, in := range s.topo.Instances {
		app, err := demo.Listen(in.AppAddress(), demoConfig(in))
		if err != nil {
			return nil, err
		}
		s.apps = append(s.apps, app)
	}
	s.step("demo apps      %d listening (in-process)", len(s.apps))

	logDir := filepath.Join(s.dataDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	for _, in := range s.topo.Instances {
		p := s.topo.Sidecar(in)
		if p.XDSToken, err = s.cp.Credential(ctx, in.NodeID()); err != nil {
			return nil, fmt.Errorf("xds credential of %s: %w", in.NodeID(), err)
		}
		b, err := opts.Bootstrap(p)
		if err != nil {
			return nil, err
		}
		path, err := writeFile(filepath.Join(s.dataDir, "bootstrap"), in.Name()+".yaml", b)
		if err != nil {
			return nil, fmt.Errorf("bootstrap %s: %w", in.NodeID(), err)
		}
		sc, err := startSidecar(envoy, in, path, filepath.Join(logDir, in.Name()+".log"))
		if err != nil {
			return nil, err
		}
		s.sidecars = append(s.sidecars, sc)
	}
	fmt.Fprintf(s.out, "  … %d sidecars starting (pids %s), waiting for each to load its config\n", len(s.sidecars), joinInts(s.Pids()))

	rctx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	began := time.Now()
	for _, sc := range s.sidecars {
		if err := sc.waitEnvoyReady(rctx, sc.inst.AdminAddress()); err != nil {
			return nil, err
		}
		s.step("%-13s  inbound :%d  outbound :%d  admin :%d  ready after %.1fs", sc.inst.Service+" "+sc.inst.Version,
			sc.inst.Inbound, sc.inst.Outbound, sc.inst.Admin, time.Since(began).Seconds())
	}
	if err := s.waitAcked(rctx); err != nil {
		return nil, err
	}
	s.step("all %d sidecars ACKed their config", len(s.sidecars))
	if err := s.waitServing(rctx); err != nil {
		return nil, err
	}
	s.step("the frontend answers through the mesh")
	if err := s.serveControl(); err != nil {
		return nil, err
	}
	for _, sc := range s.sidecars {
		s.watchSidecar(sc)
	}
	return s, nil
}

// buildFilters runs scripts/build-wasm.sh (it rebuilds only what changed).
func (s *Sandbox) buildFilters(ctx context.Context) error {
	if s.opts.NoBuild {
		return nil
	}
	fmt.Fprintln(s.out, "  … building the filters if changed (scripts/build-wasm.sh)")
	script := filepath.Join(s.opts.Root, "scripts", "build-wasm.sh")
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = s.opts.Root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build filters (scripts/build-wasm.sh): %w\n%s", err, indent(strings.TrimSpace(string(out))))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines[:len(lines)-1] {
		fmt.Fprintf(s.out, "    %s\n", l)
	}
	s.step("filters        %s", strings.TrimPrefix(lines[len(lines)-1], "build: "))
	return nil
}

// waitAcked polls the control plane until every sidecar is connected and has ACKed; a NACK
// fails at once with the node's error.
func (s *Sandbox) waitAcked(ctx context.Context) error {
	want := map[string]bool{}
	for _, in := range s.topo.Instances {
		want[in.NodeID()] = true
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var missing []string
	for {
		nodes, err := s.cp.Nodes(ctx)
		if err != nil {
			return fmt.Errorf("control plane status: %w", err)
		}
		acked := map[string]bool{}
		for _, n := range nodes {
			if len(n.Errors) > 0 && want[n.ID] {
				return fmt.Errorf("sidecar %s refused its config (NACK): %s", n.ID, strings.Join(n.Errors, "; "))
			}
			acked[n.ID] = n.Acked
		}
		missing = missing[:0]
		for _, in := range s.topo.Instances {
			if !acked[in.NodeID()] {
				missing = append(missing, in.NodeID())
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sidecars %s did not ACK their config: %w", strings.Join(missing, ", "), ctx.Err())
		case <-tick.C:
		}
	}
}

// waitServing sends requests to the frontend until one crosses every hop of the mesh.
func (s *Sandbox) waitServing(ctx context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + s.topo.Frontend().InboundAddress() + "/"
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		// Never the injected fault: this checks the mesh works, not the demo fault.
		req.Header.Set("x-canary", "never")
		res, err := client.Do(req)
		if err == nil {
			var rep demo.Reply
			derr := json.NewDecoder(res.Body).Decode(&rep)
			res.Body.Close()
			hops := rep.Versions()
			switch {
			case derr != nil:
				last = fmt.Sprintf("status %d, body not a demo reply: %v", res.StatusCode, derr)
			case res.StatusCode == http.StatusOK && len(hops) == 3 && !strings.HasSuffix(hops[2], ":"):
				return nil
			default:
				last = fmt.Sprintf("status %d, hops %v, error %q", res.StatusCode, hops, errorOf(&rep))
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the frontend (%s) did not answer through the mesh: last answer: %s: %w", url, last, ctx.Err())
		case <-tick.C:
		}
	}
}

func errorOf(r *demo.Reply) string {
	for h := r; h != nil; h = h.Upstream {
		if h.Error != "" {
			return h.Error
		}
	}
	return ""
}

// Stop stops the sidecars (SIGTERM to each process group, SIGKILL after 5 s, then reaps them),
// the demo apps and the control plane, and removes a temporary data directory. It is safe to
// call more than once.
func (s *Sandbox) Stop() error {
	s.stopOnce.Do(func() {
		close(s.stopping)
		var errs []error
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.control != nil {
			if err := s.control.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("sandbox control endpoint: %w", err))
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var wg sync.WaitGroup
		for _, sc := range s.sidecars {
			wg.Go(func() { sc.stop(5 * time.Second) })
		}
		wg.Wait()
		for _, app := range s.apps {
			if app == nil {
				continue
			}
			if err := app.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("demo app %s: %w", app.Addr(), err))
			}
		}
		if s.prom != nil {
			s.prom.stop(5 * time.Second)
		}
		if s.cp != nil {
			if err := s.cp.Close(); err != nil {
				errs = append(errs, fmt.Errorf("control plane: %w", err))
			}
		}
		if s.tempDir {
			if err := os.RemoveAll(s.dataDir); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", s.dataDir, err))
			}
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// countActions summarises apply result lines ("service/reviews created") as "6 created".
func countActions(lines []string) string {
	n := map[string]int{}
	var order []string
	for _, l := range lines {
		a := l[strings.LastIndex(l, " ")+1:]
		if n[a] == 0 {
			order = append(order, a)
		}
		n[a]++
	}
	var parts []string
	for _, a := range order {
		parts = append(parts, fmt.Sprintf("%d %s", n[a], a))
	}
	return strings.Join(parts, ", ")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " ")
}

// UIURL is the control plane's web UI (service graph, status, traces) with the API token in
// the URL fragment; "" when the control plane serves none.
func (s *Sandbox) UIURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.cp.(interface{ UIURL() string }); ok {
		return u.UIURL()
	}
	return ""
}

// PrintTry prints what to try against the running sandbox.
func (s *Sandbox) PrintTry() {
	if u := s.UIURL(); u != "" {
		fmt.Fprintf(s.out, "\nOpen the mesh in a browser (service graph, status, traces):\n  %s\n", u)
	}
	t := s.topo
	fe := t.Frontend()
	env := "export WASMESH_HOME=" + s.cp.Home()
	if t.HTTP != DefaultBasePort+1 {
		env += " WASMESH_SERVER=http://" + t.HTTPAddress()
	}
	baseFlag := ""
	if t.BasePort != DefaultBasePort {
		baseFlag = fmt.Sprintf(" --base-port %d", t.BasePort)
	}
	var admins []string
	for _, in := range t.Instances {
		admins = append(admins, fmt.Sprintf("%s %s :%d", in.Service, in.Version, in.Admin))
	}
	fmt.Fprintf(s.out, `
The mesh is up. Try:

  curl -s %[1]s/                                    # frontend → reviews (90%% v1, 10%% v2) → ratings
  curl -s -H 'x-canary: always' %[1]s/              # the canary override: always reviews v2
  curl -s -H 'x-user: jason' %[1]s/                 # a route rule: jason sees reviews v3
  curl -s -H 'x-wasmesh-fault: abort=503' %[1]s/    # stripped where it enters the mesh: no effect
  curl -s -H 'Host: ratings' -H 'x-wasmesh-fault: abort=503' %[7]s/  # reviews' own call: faulted
  curl -s -H 'Host: ratings' %[8]s/   # 403: only reviews may call ratings (docs/security.md);
                                                       # 1 in 10: 503, the ratings fault, injected first by the frontend's own sidecar
  curl -s %[9]s/   # reviews v1's inbound is STRICT: plaintext refused
  for i in $(seq 100); do curl -s %[1]s/ | grep -o '"color": "[a-z]*"'; done | sort | uniq -c

In another terminal, the CLI talks to this sandbox's control plane:
  %[2]s
  go run ./cmd/wasmesh status                                 # each sidecar: ACKed versions, NACK errors, identity
  go run ./cmd/wasmesh get authorizationpolicies              # who may call whom; transportpolicies: mTLS modes
  go run ./cmd/wasmesh apply -f sandbox/crds/canary-50.yaml   # ramp the canary to 50/50, live
  go run ./cmd/wasmesh get trafficroute reviews -o yaml

Break things and watch the mesh cope (docs/sandbox.md#break-things):
  go run ./cmd/wasmesh sandbox kill reviews.v1.0%[6]s      # reviews v1's sidecar dies: v2 takes its requests
  go run ./cmd/wasmesh sandbox restart reviews.v1.0%[6]s   # and comes back
  go run ./cmd/wasmesh sandbox ps%[6]s                     # what runs

Metrics (Prometheus text) on each sidecar admin, e.g. curl -s %[3]s/stats/prometheus | grep wasmesh_
  admins: %[4]s
Sidecar logs and bootstraps: %[5]s

Press Ctrl-C to stop everything.
`, fe.InboundAddress(), env, fe.AdminAddress(), strings.Join(admins, ", "), s.dataDir, baseFlag,
		"http://"+t.Versions("reviews")[0].OutboundAddress(), "http://"+t.Frontend().OutboundAddress(),
		"http://"+t.Versions("reviews")[0].InboundAddress())
}
