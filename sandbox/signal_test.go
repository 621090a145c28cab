package sandbox

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/internal/envoybin"
)

// TestCtrlCWhileStartingLeavesNothing runs the built `wasmesh sandbox` binary, interrupts it
// (SIGINT, as Ctrl-C does) while its sidecars are starting, and checks it exits 0 with every
// Envoy it started gone and every port free.
func TestCtrlCWhileStartingLeavesNothing(t *testing.T) {
	bin, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	for _, m := range requiredModules {
		if _, err := os.Stat(filepath.Join("..", "build", m)); err != nil {
			t.Fatalf("build/%s missing: run make build", m)
		}
	}
	exe := filepath.Join(t.TempDir(), "wasmesh")
	build := exec.Command("go", "build", "-o", exe, "../cmd/wasmesh")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	base := freeBase(t)
	cmd := exec.Command(exe, "sandbox", "--no-build", "--base-port", strconv.Itoa(base), "--envoy", bin.Path)
	cmd.Dir = ".."
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()

	pidsRE := regexp.MustCompile(`sidecars starting \(pids ([0-9 ]+)\)`)
	var pids []int
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if m := pidsRE.FindStringSubmatch(sc.Text()); m != nil {
			for _, f := range strings.Fields(m[1]) {
				n, _ := strconv.Atoi(f)
				pids = append(pids, n)
			}
			break
		}
	}
	require.Len(t, pids, len(NewTopology(base).Instances), "output:\n%s\nstderr:\n%s", strings.Join(lines, "\n"), stderr.String())

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	err = cmd.Wait()
	require.NoError(t, err, "output:\n%s\nstderr:\n%s", strings.Join(lines, "\n"), stderr.String())
	require.Contains(t, strings.Join(lines, "\n"), "interrupted while starting: everything started so far is stopped")

	for _, pid := range pids {
		require.Eventually(t, func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) },
			5*time.Second, 20*time.Millisecond, "envoy pid %d outlived the sandbox", pid)
	}
	require.NoError(t, checkPorts(NewTopology(base)))
}
