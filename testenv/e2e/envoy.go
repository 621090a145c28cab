package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmesh/wasmesh/internal/envoybin"
)

// StartTimeout bounds the wait for an Envoy to be ready. Envoy compiles every Wasm module
// (V8) before it is ready: a few seconds on a quiet machine, a minute or more when several
// Envoys start at once on 2 busy cores (go test runs packages in parallel). It bounds a start
// that would otherwise hang a test; it is not a performance aim.
const StartTimeout = 3 * time.Minute

// EnvoyOptions configures one Envoy process.
type EnvoyOptions struct {
	// Name labels the process in logs and errors, e.g. "reviews-v2".
	Name string
	// Config is the bootstrap YAML. Its admin address may use port 0: the harness learns the
	// real address through --admin-address-path.
	Config []byte
	// Dir holds the config, the log and the address files; default a new temporary directory
	// (removed by Stop).
	Dir string
	// Concurrency is Envoy's worker count; default 1.
	Concurrency int
	// LogLevel is Envoy's log level; default "info".
	LogLevel string
	// ReadyTimeout bounds the wait for admin /ready; default StartTimeout.
	ReadyTimeout time.Duration
	// WaitReady, when false, returns as soon as admin answers (an Envoy waiting for its
	// control plane is not ready yet); default true via StartEnvoy's zero value handling.
	NoWaitReady bool
	// Binary is the Envoy executable; default internal/envoybin.Find("").
	Binary string
	// Args are extra command-line arguments (e.g. --component-log-level wasm:trace).
	Args []string
}

// Envoy is a running Envoy process.
type Envoy struct {
	Name      string
	Admin     string // admin host:port
	Dir       string
	LogPath   string
	cmd       *exec.Cmd
	ownDir    bool
	done      chan struct{}
	waitErr   error
	stopOnce  sync.Once
	adminHTTP *http.Client
}

// StartEnvoy starts Envoy with opts and waits until admin reports it ready (LIVE). On error
// nothing is left running; the error includes the tail of Envoy's log.
func StartEnvoy(ctx context.Context, opts EnvoyOptions) (*Envoy, error) {
	if opts.Name == "" {
		opts.Name = "envoy"
	}
	bin := opts.Binary
	if bin == "" {
		b, err := envoybin.Find("")
		if err != nil {
			return nil, err
		}
		bin = b.Path
	}
	e := &Envoy{Name: opts.Name, Dir: opts.Dir, done: make(chan struct{}), adminHTTP: &http.Client{Timeout: 5 * time.Second}}
	if e.Dir == "" {
		d, err := os.MkdirTemp("", "wasmesh-e2e-"+sanitize(opts.Name)+"-")
		if err != nil {
			return nil, fmt.Errorf("envoy %s: %w", opts.Name, err)
		}
		e.Dir, e.ownDir = d, true
	}
	cfg := filepath.Join(e.Dir, "envoy.yaml")
	if err := os.WriteFile(cfg, opts.Config, 0o644); err != nil {
		return nil, fmt.Errorf("envoy %s: %w", opts.Name, err)
	}
	e.LogPath = filepath.Join(e.Dir, "envoy.log")
	logf, err := os.Create(e.LogPath)
	if err != nil {
		return nil, fmt.Errorf("envoy %s: %w", opts.Name, err)
	}
	defer logf.Close()
	conc := opts.Concurrency
	if conc <= 0 {
		conc = 1
	}
	level := opts.LogLevel
	if level == "" {
		level = "info"
	}
	adminPath := filepath.Join(e.Dir, "admin.addr")
	e.cmd = exec.Command(bin, "-c", cfg,
		"--use-dynamic-base-id", "--base-id-path", filepath.Join(e.Dir, "base-id"),
		"--admin-address-path", adminPath,
		"--concurrency", strconv.Itoa(conc), "--log-level", level,
		"--service-node", opts.Name, "--drain-time-s", "1", "--parent-shutdown-time-s", "2",
	)
	e.cmd.Args = append(e.cmd.Args, opts.Args...)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.Dir = e.Dir
	setProcAttr(e.cmd)
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("envoy %s: start %s: %w", opts.Name, bin, err)
	}
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.done)
	}()
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = StartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := e.waitAdmin(ctx, adminPath, !opts.NoWaitReady); err != nil {
		killGroup(e.cmd, syscall.SIGKILL)
		<-e.done
		tail := e.LogProblems(30)
		e.Stop()
		return nil, fmt.Errorf("envoy %s: %w\n%s", opts.Name, err, tail)
	}
	return e, nil
}

func (e *Envoy) waitAdmin(ctx context.Context, adminPath string, ready bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "admin address not written yet"
	for {
		select {
		case <-e.done:
			return fmt.Errorf("exited before ready (%v)", e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %s: %w", last, ctx.Err())
		case <-tick.C:
		}
		if e.Admin == "" {
			b, err := os.ReadFile(adminPath)
			if err != nil || len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			e.Admin = strings.TrimSpace(string(b))
		}
		code, body, err := e.get("/ready")
		switch {
		case err != nil:
			last = err.Error()
		case !ready || code == http.StatusOK:
			return nil
		default:
			last = fmt.Sprintf("/ready: %d %s", code, strings.TrimSpace(body))
		}
	}
}

func (e *Envoy) get(path string) (int, string, error) {
	resp, err := e.adminHTTP.Get("http://" + e.Admin + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// AdminGet returns the body of an admin GET (e.g. "/stats/prometheus"), or an error for a
// non-200 answer.
func (e *Envoy) AdminGet(path string) (string, error) {
	code, body, err := e.get(path)
	if err != nil {
		return "", fmt.Errorf("envoy %s: admin %s: %w", e.Name, path, err)
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("envoy %s: admin %s: status %d: %s", e.Name, path, code, strings.TrimSpace(body))
	}
	return body, nil
}

// Stat returns the value of one counter or gauge from admin /stats (exact name), and whether
// it exists.
func (e *Envoy) Stat(name string) (int64, bool, error) {
	body, err := e.AdminGet("/stats?filter=" + regexpQuote(name))
	if err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && k == name {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, true, fmt.Errorf("envoy %s: stat %s: %q is not an integer", e.Name, name, v)
			}
			return n, true, nil
		}
	}
	return 0, false, nil
}

// PID is the Envoy process id.
func (e *Envoy) PID() int { return e.cmd.Process.Pid }

// RSS is the resident set size of the Envoy process in bytes (Linux /proc).
func (e *Envoy) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.PID()))
	if err != nil {
		return 0, fmt.Errorf("envoy %s: rss: %w", e.Name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("envoy %s: rss: %q: %w", e.Name, v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("envoy %s: rss: no VmRSS in /proc/%d/status", e.Name, e.PID())
}

// Log returns Envoy's whole log so far.
func (e *Envoy) Log() string {
	b, _ := os.ReadFile(e.LogPath)
	return string(b)
}

// LogTail returns the last n lines of Envoy's log.
func (e *Envoy) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(e.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "--- " + e.Name + " log (" + e.LogPath + ") ---\n" + strings.Join(lines, "\n")
}

// LogProblems returns the log's critical, error and warning lines (at most n, the last ones),
// or its last n lines when there are none: what explains a failed start.
func (e *Envoy) LogProblems(n int) string {
	var bad []string
	for _, l := range strings.Split(e.Log(), "\n") {
		if strings.Contains(l, "][critical][") || strings.Contains(l, "][error][") || strings.Contains(l, "][warning][") {
			bad = append(bad, l)
		}
	}
	if len(bad) == 0 {
		return e.LogTail(n)
	}
	if len(bad) > n {
		bad = bad[len(bad)-n:]
	}
	return "--- " + e.Name + " log problems (" + e.LogPath + ") ---\n" + strings.Join(bad, "\n")
}

// Exited reports whether the process has exited.
func (e *Envoy) Exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Stop terminates Envoy's whole process group (SIGTERM, then SIGKILL after 5s), waits for it,
// and removes the harness-made directory. Safe to call more than once.
func (e *Envoy) Stop() {
	e.stopOnce.Do(func() {
		killGroup(e.cmd, syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(5 * time.Second):
			killGroup(e.cmd, syscall.SIGKILL)
			<-e.done
		}
		killGroup(e.cmd, syscall.SIGKILL) // anything left in the group
		if e.ownDir && os.Getenv("WASMESH_E2E_KEEP") == "" {
			_ = os.RemoveAll(e.Dir)
		}
	})
}

// Kill ends Envoy at once, as a crash would (SIGKILL to its process group: no drain, open
// connections reset), and waits for it to exit. Stop may still be called.
func (e *Envoy) Kill() {
	killGroup(e.cmd, syscall.SIGKILL)
	<-e.done
}

// EnvoyT starts Envoy for a test: it fails the test if Envoy cannot start, stops it in
// t.Cleanup, and prints its log there when the test failed.
func EnvoyT(t testing.TB, opts EnvoyOptions) *Envoy {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	e, err := StartEnvoy(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.LogTail(200))
		}
		e.Stop()
	})
	return e
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1 (listen on :0, then close).
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePortsT is FreePorts for a test.
func FreePortsT(t testing.TB, n int) []int {
	t.Helper()
	p, err := FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WaitFor polls cond every 50ms until it returns nil or timeout passes; it returns cond's
// last error on timeout.
func WaitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

func regexpQuote(s string) string {
	var b strings.Builder
	b.WriteByte('^')
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('$')
	return url.QueryEscape(b.String())
}

func itoa(i int) string { return strconv.Itoa(i) }
