package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// sidecar is one running Envoy process (or the sandbox's Prometheus: see startProcess).
type sidecar struct {
	inst      Instance
	what      string // what names it in errors: "sidecar <node id>", "prometheus"
	cmd       *exec.Cmd
	bootstrap string
	logPath   string
	exited    chan struct{} // closed when the process has exited and been reaped
	waitErr   error
	// killedOnPurpose is set before a kill or restart, so that the exit is not reported as a
	// crash.
	killedOnPurpose atomic.Bool
	// replaced is set before a restart stops it: its exit is not news.
	replaced atomic.Bool
}

// startSidecar launches Envoy with the bootstrap at path, its output going to logPath. Envoy runs
// with one worker (one Wasm VM per filter) and hot restart disabled (no shared memory to clash
// with other Envoys on the machine).
func startSidecar(envoy string, inst Instance, bootstrap, logPath string) (*sidecar, error) {
	s, err := startProcess("sidecar "+inst.NodeID(), envoy, SidecarArgs(inst, bootstrap), inst, logPath)
	if err != nil {
		return nil, err
	}
	s.bootstrap = bootstrap
	return s, nil
}

// startProcess launches bin with args in its own process group, its output going to logPath,
// and reaps it when it exits; what names it in errors.
func startProcess(what, bin string, args []string, inst Instance, logPath string) (*sidecar, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: start %s: %w", what, bin, err)
	}
	s := &sidecar{inst: inst, what: what, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

// Pid is the Envoy process id.
func (s *sidecar) Pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM to the sidecar's process group, and SIGKILL if it has not exited within
// grace; it returns once the process is reaped.
func (s *sidecar) stop(grace time.Duration) {
	pgid := s.cmd.Process.Pid
	select {
	case <-s.exited:
		return
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	// Anything Envoy forked into its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// logTail returns the last n lines of the sidecar's log.
func (s *sidecar) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitEnvoyReady polls the sidecar's admin /ready until Envoy reports LIVE (its listeners and
// their ECDS filters came from the control plane and warmed). It fails early when Envoy exits.
func (s *sidecar) waitEnvoyReady(ctx context.Context, admin string) error {
	return s.waitReady(ctx, "admin /ready", "http://"+admin+"/ready")
}

// waitReady polls url until it answers 200 OK; probe names it in the error. It fails early
// when the process exits.
func (s *sidecar) waitReady(ctx context.Context, probe, url string) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited (%v); last log lines:\n%s", s.what, s.waitErr, indent(s.logTail(20)))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (%s: %s): %w; last log lines:\n%s", s.what, probe, last, ctx.Err(), indent(s.logTail(20)))
		case <-tick.C:
		}
		res, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(res.Body)
		res.Body.Close()
		last = fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(buf.String()))
		if res.StatusCode == http.StatusOK {
			return nil
		}
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// ErrPortInUse is returned (wrapped, naming the port) when a port of the sandbox is taken.
var ErrPortInUse = errors.New("port in use")

// checkPorts makes sure every port of the topology is free on its host.
func checkPorts(t Topology) error {
	var errs []error
	for _, p := range t.HostPorts() {
		ln, err := net.Listen("tcp", t.Addr(p.Port))
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d (%s): %w", p.Port, p.What, ErrPortInUse))
			continue
		}
		ln.Close()
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w\nanother sandbox may be running; stop it, or pick another block of %d ports with --base-port (e.g. --base-port %d)",
			errors.Join(errs...), PortSpan, t.BasePort+1000)
	}
	return nil
}

// writeFile writes data under dir, creating parents.
func writeFile(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, data, 0o644)
}
