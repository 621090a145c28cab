package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wasmesh/wasmesh/sandbox/demo"
)

// The sandbox as a chaos playground (docs/sandbox.md#break-things): one instance's sidecar or
// demo app, or the control plane, can be killed and restarted while the rest keeps running,
// from `wasmesh sandbox kill|restart|ps` (through the control endpoint) or from Go.

// TargetControlPlane names the control plane as a Kill/Restart target.
const TargetControlPlane = "controlplane"

// appSuffix marks a demo app as a target: `reviews.v1.0/app`.
const appSuffix = "/app"

// ErrUnknownTarget is returned (wrapped, listing the targets) for a target the sandbox does
// not have.
var ErrUnknownTarget = errors.New("unknown target")

// InstanceState is what `wasmesh sandbox ps` shows for one part of the sandbox.
type InstanceState struct {
	// Target is how to name it: a node id (its sidecar), `<node id>/app`, or `controlplane`.
	Target string `json:"target"`
	// Running is false after a kill or a crash, until a restart.
	Running bool `json:"running"`
	// Pid is the sidecar's Envoy process id (0 for the rest, or when not running).
	Pid int `json:"pid,omitempty"`
	// Address is where it listens (the sidecar's inbound listener, the app, the control
	// plane's API).
	Address string `json:"address"`
}

// target resolves a target to the instance index and whether it is the app.
func (s *Sandbox) target(name string) (int, bool, error) {
	node, app := strings.CutSuffix(name, appSuffix)
	for i, in := range s.topo.Instances {
		if in.NodeID() == node {
			return i, app, nil
		}
	}
	var known []string
	for _, in := range s.topo.Instances {
		known = append(known, in.NodeID())
	}
	return 0, false, fmt.Errorf("%w %q: use a node id (%s), <node id>%s for its demo app, or %s",
		ErrUnknownTarget, name, strings.Join(known, ", "), appSuffix, TargetControlPlane)
}

// Kill stops one part of the sandbox at once, as a crash would: a sidecar gets SIGKILL (its
// connections reset, no drain), a demo app closes its listener and connections, the control
// plane stops serving xDS and the API (the sidecars keep their last configuration). The rest
// keeps running.
func (s *Sandbox) Kill(target string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if target == TargetControlPlane {
		if s.cp == nil {
			return fmt.Errorf("%s is not running", target)
		}
		err := s.cp.Close()
		s.cp = nil
		fmt.Fprintf(s.out, "! control plane killed: the sidecars keep their configuration; `wasmesh sandbox restart %s` starts it again\n", TargetControlPlane)
		return err
	}
	i, app, err := s.target(target)
	if err != nil {
		return err
	}
	if app {
		a := s.apps[i]
		if a == nil {
			return fmt.Errorf("%s is not running", target)
		}
		s.apps[i] = nil
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = a.Shutdown(ctx) // open connections are cut at the deadline: a crash
		fmt.Fprintf(s.out, "! demo app %s killed; `wasmesh sandbox restart %s` starts it again\n", s.topo.Instances[i].NodeID(), target)
		return nil
	}
	sc := s.sidecars[i]
	select {
	case <-sc.exited:
		return fmt.Errorf("sidecar %s is not running", target)
	default:
	}
	sc.killedOnPurpose.Store(true)
	_ = syscall.Kill(-sc.cmd.Process.Pid, syscall.SIGKILL)
	<-sc.exited
	fmt.Fprintf(s.out, "! sidecar %s killed (SIGKILL); the rest of the sandbox keeps running; `wasmesh sandbox restart %s` starts it again\n", target, target)
	return nil
}

// Restart starts a part of the sandbox again (after Kill or a crash; a running one is
// stopped first) and waits until it serves: a sidecar until Envoy is ready, the control plane
// until it listens (its store kept every resource).
func (s *Sandbox) Restart(ctx context.Context, target string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if target == TargetControlPlane {
		if s.cp != nil {
			if err := s.cp.Close(); err != nil {
				return fmt.Errorf("stop the control plane: %w", err)
			}
			s.cp = nil
		}
		cp, err := s.opts.ControlPlane(ctx, s.topo, filepath.Join(s.dataDir, "controlplane"), filepath.Join(s.opts.Root, "build"))
		if err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
		s.cp = cp
		fmt.Fprintf(s.out, "✓ control plane restarted (xDS %s); the sidecars reconnect on their own\n", s.topo.Addr(s.topo.XDS))
		return nil
	}
	i, app, err := s.target(target)
	if err != nil {
		return err
	}
	in := s.topo.Instances[i]
	if app {
		if s.apps[i] != nil {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = s.apps[i].Shutdown(sctx)
			cancel()
		}
		a, err := demo.Listen(in.AppAddress(), demoConfig(in))
		if err != nil {
			return err
		}
		s.apps[i] = a
		fmt.Fprintf(s.out, "✓ demo app %s restarted at %s\n", in.NodeID(), in.AppAddress())
		return nil
	}
	old := s.sidecars[i]
	old.replaced.Store(true) // a restart is no crash
	old.stop(5 * time.Second)
	sc, err := startSidecar(s.envoy, in, old.bootstrap, old.logPath)
	if err != nil {
		return err
	}
	s.sidecars[i] = sc
	s.watchSidecar(sc)
	rctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	if err := sc.waitEnvoyReady(rctx, in.AdminAddress()); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "✓ sidecar %s restarted (pid %d) and ready\n", in.NodeID(), sc.Pid())
	return nil
}

// Instances reports every part of the sandbox and whether it runs.
func (s *Sandbox) Instances() []InstanceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []InstanceState{{Target: TargetControlPlane, Running: s.cp != nil, Address: s.topo.HTTPAddress()}}
	for i, in := range s.topo.Instances {
		sc := s.sidecars[i]
		st := InstanceState{Target: in.NodeID(), Running: true, Pid: sc.Pid(), Address: in.InboundAddress()}
		select {
		case <-sc.exited:
			st.Running, st.Pid = false, 0
		default:
		}
		out = append(out, st, InstanceState{Target: in.NodeID() + appSuffix, Running: s.apps[i] != nil, Address: in.AppAddress()})
	}
	return out
}

// watchSidecar reports the sidecar's exit when nobody asked for it (a crash, or a kill from
// outside the sandbox); the sandbox keeps running.
func (s *Sandbox) watchSidecar(sc *sidecar) {
	go func() {
		<-sc.exited
		select {
		case <-s.stopping:
			return
		default:
		}
		if sc.replaced.Load() || sc.killedOnPurpose.Load() { // Kill and Restart report it
			return
		}
		fmt.Fprintf(s.out, "! sidecar %s exited (%v); the rest of the sandbox keeps running; `wasmesh sandbox restart %s` starts it again (log: %s)\n",
			sc.inst.NodeID(), sc.waitErr, sc.inst.NodeID(), sc.logPath)
	}()
}

func demoConfig(in Instance) demo.Config {
	return demo.Config{Service: in.Service, Version: in.Version, Instance: in.NodeID(), Next: in.Calls, Outbound: in.OutboundAddress()}
}

// serveControl serves the control endpoint on the topology's Control port (loopback only):
// GET /instances, POST /kill?target=…, POST /restart?target=….
func (s *Sandbox) serveControl() error {
	ln, err := net.Listen("tcp", hostPort("127.0.0.1", s.topo.Control))
	if err != nil {
		return fmt.Errorf("sandbox control endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /instances", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Instances())
	})
	act := func(do func(r *http.Request, target string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			err := do(r, r.URL.Query().Get("target"))
			switch {
			case errors.Is(err, ErrUnknownTarget):
				http.Error(w, err.Error(), http.StatusNotFound)
			case err != nil:
				http.Error(w, err.Error(), http.StatusConflict)
			default:
				w.WriteHeader(http.StatusNoContent)
			}
		}
	}
	mux.HandleFunc("POST /kill", act(func(_ *http.Request, t string) error { return s.Kill(t) }))
	mux.HandleFunc("POST /restart", act(func(r *http.Request, t string) error { return s.Restart(r.Context(), t) }))
	s.control = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.control.Serve(ln) }()
	return nil
}

// Control sends one command to the sandbox running on basePort's block, as `wasmesh sandbox
// kill|restart` does: action is "kill" or "restart".
func Control(ctx context.Context, basePort int, action, target string) error {
	t := NewTopology(basePort)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+hostPort("127.0.0.1", t.Control)+"/"+action+"?target="+target, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("no sandbox answers on port %d (is `make sandbox` running, with this --base-port?): %w", t.Control, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(resp))
		return errors.New(strings.TrimSpace(b.String()))
	}
	return nil
}

// List returns the parts of the sandbox running on basePort's block, as `wasmesh sandbox ps`
// shows them.
func List(ctx context.Context, basePort int) ([]InstanceState, error) {
	t := NewTopology(basePort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort("127.0.0.1", t.Control)+"/instances", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("no sandbox answers on port %d (is `make sandbox` running, with this --base-port?): %w", t.Control, err)
	}
	defer resp.Body.Close()
	var out []InstanceState
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("sandbox control: %w", err)
	}
	return out, nil
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
