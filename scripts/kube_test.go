// Package scripts holds the tests of the shell scripts that `make` runs to install tools.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTool writes an executable shell script into dir that prints lines as its --version
// output, pausing after the first line the way a real binary's later writes can lag behind.
func fakeTool(t *testing.T, dir, name string, lines ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for i, l := range lines {
		if i == 1 {
			b.WriteString("sleep 0.3\n")
		}
		b.WriteString("echo '" + l + "'\n")
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
}

func kubeCheck(t *testing.T, dir string) (string, error) {
	t.Helper()
	out, err := exec.Command("bash", "kube.sh", "--check", dir).CombinedOutput()
	return string(out), err
}

// A CI run once refused a freshly built etcd: `etcd --version | grep -q` under pipefail fails
// when grep exits on the first line and etcd then dies writing the second. The fake etcd
// below writes its later lines after grep would have exited, so the old check failed every time.
func TestKubeCheckAcceptsMultiLineVersionOutput(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "etcd", "etcd Version: 3.6.4", "Git SHA: Not provided", "Go Version: go1.26.8", "Go OS/Arch: linux/amd64")
	fakeTool(t, dir, "kube-apiserver", "Kubernetes v1.34.4")
	if out, err := kubeCheck(t, dir); err != nil {
		t.Fatalf("kube.sh --check refused binaries at the right versions: %v\n%s", err, out)
	}
}

func TestKubeCheckNamesWhatIsOff(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "etcd", "etcd Version: 3.6.40", "Git SHA: x")
	fakeTool(t, dir, "kube-apiserver", "Kubernetes v1.34.4")
	out, err := kubeCheck(t, dir)
	if err == nil {
		t.Fatalf("kube.sh --check accepted etcd 3.6.40 for 3.6.4:\n%s", out)
	}
	if want := filepath.Join(dir, "etcd") + " is missing or does not report version 3.6.4"; !strings.Contains(out, want) {
		t.Errorf("output does not say %q:\n%s", want, out)
	}
	if strings.Contains(out, "kube-apiserver") {
		t.Errorf("output blames kube-apiserver, which is at the right version:\n%s", out)
	}

	empty := t.TempDir()
	out, err = kubeCheck(t, empty)
	if err == nil || !strings.Contains(out, "kube-apiserver is missing") || !strings.Contains(out, "etcd is missing") {
		t.Fatalf("kube.sh --check on an empty folder: err=%v\n%s", err, out)
	}
}
