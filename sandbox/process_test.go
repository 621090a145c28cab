package sandbox

import (
	"errors"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/internal/bootstrap"
	"github.com/wasmesh/wasmesh/internal/envoybin"
)

// TestSidecarStopLeavesNothing starts one real Envoy from a sandbox bootstrap (no control plane
// needed: its admin comes up regardless), stops it and checks the process and its ports are gone.
func TestSidecarStopLeavesNothing(t *testing.T) {
	bin, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	top := NewTopology(freeBase(t))
	in := top.Instances[1]
	b, err := bootstrap.Render(top.Sidecar(in))
	require.NoError(t, err)
	dir := t.TempDir()
	path, err := writeFile(dir, "boot.yaml", b)
	require.NoError(t, err)
	sc, err := startSidecar(bin.Path, in, path, filepath.Join(dir, "envoy.log"))
	require.NoError(t, err)
	defer sc.stop(time.Second)

	require.Eventually(t, func() bool {
		res, err := http.Get("http://" + in.AdminAddress() + "/server_info")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "admin never answered; log:\n%s", sc.logTail(30))

	pid := sc.Pid()
	sc.stop(5 * time.Second)
	select {
	case <-sc.exited:
	default:
		t.Fatal("stop returned before the process was reaped")
	}
	require.True(t, errors.Is(syscall.Kill(pid, 0), syscall.ESRCH), "envoy pid %d still exists", pid)
	require.NoError(t, checkPorts(top))
	sc.stop(time.Second) // idempotent
}
