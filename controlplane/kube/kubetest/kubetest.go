// Package kubetest runs a real Kubernetes API server for tests: etcd 3.6.4 and kube-apiserver
// v1.34.4 (built by scripts/kube.sh into .tools/kube) on loopback, with a self-signed serving
// certificate, token authentication, RBAC and no endpoint reconciler. No kubelet, scheduler
// or controller manager runs: pods are objects only, which is what the control plane reads.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/pki"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

// StartTimeout bounds the API server's readiness (a wait, not an aim: about 6 s on a quiet
// machine).
const StartTimeout = 3 * time.Minute

// AdminToken is the bearer token of the harness's cluster administrator (system:masters).
const AdminToken = "wasmesh-test-admin"

// Cluster is a running etcd + kube-apiserver.
type Cluster struct {
	// Config reaches the API server as the administrator.
	Config *rest.Config
	// Dir holds the cluster's files (certificates, tokens, etcd data, logs).
	Dir string

	etcd, apiserver *exec.Cmd
	logs            []*bytes.Buffer
	stopOnce        sync.Once
}

// BinDir returns the folder holding kube-apiserver and etcd: $WASMESH_KUBE_BIN, else
// .tools/kube in the repository.
func BinDir() string {
	if d := os.Getenv("WASMESH_KUBE_BIN"); d != "" {
		return d
	}
	return filepath.Join(envoybin.RepoRoot(), ".tools", "kube")
}

// Available reports why the binaries cannot be used ("" when they can).
func Available() string {
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(BinDir(), b)); err != nil {
			return fmt.Sprintf("%s not found in %s: run scripts/kube.sh (about 10 minutes, once) or set WASMESH_KUBE_BIN", b, BinDir())
		}
	}
	return ""
}

// Require fails the test when the binaries are missing under CI=true, and skips it with the
// reason otherwise.
func Require(t testing.TB) {
	t.Helper()
	if why := Available(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubernetes test binaries missing under CI=true: %s", why)
		}
		t.Skip(why)
	}
}

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Shared returns one cluster per test binary, started on first use (Require first). Stop it
// from TestMain with StopShared.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	shared.once.Do(func() {
		shared.c, shared.err = Start(context.Background())
	})
	if shared.err != nil {
		t.Fatalf("kube-apiserver: %v", shared.err)
	}
	return shared.c
}

// StopShared stops the shared cluster, when one was started.
func StopShared() {
	if shared.c != nil {
		shared.c.Stop()
	}
}

// Start starts etcd and kube-apiserver in a temporary folder and waits until the API server
// is ready (StartTimeout).
func Start(ctx context.Context) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "wasmesh-kube-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	ports, err := e2e.FreePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	c.etcd, err = c.run(filepath.Join(BinDir(), "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdClient, "--advertise-client-urls", etcdClient,
		"--listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(ports[1]),
		"--initial-advertise-peer-urls", "http://127.0.0.1:"+strconv.Itoa(ports[1]),
		"--initial-cluster", "default=http://127.0.0.1:"+strconv.Itoa(ports[1]),
		"--unsafe-no-fsync", "--quota-backend-bytes", strconv.Itoa(1<<30), "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	caPEM, certPEM, keyPEM, err := pki.ServingCert("127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPub, _ := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	files := map[string][]byte{
		"serving.crt": certPEM, "serving.key": keyPEM,
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		"tokens.csv": []byte(AdminToken + ",admin,admin,\"system:masters\"\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	port := ports[2]
	c.apiserver, err = c.run(filepath.Join(BinDir(), "kube-apiserver"),
		"--etcd-servers", etcdClient,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		"--tls-cert-file", filepath.Join(dir, "serving.crt"), "--tls-private-key-file", filepath.Join(dir, "serving.key"),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--endpoint-reconciler-type", "none",
		// No controller manager creates the default ServiceAccount pods name.
		"--disable-admission-plugins", "ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--v", "0")
	if err != nil {
		return nil, err
	}
	c.Config = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(port),
		BearerToken:     AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		QPS:             200, Burst: 400,
	}
	if err := c.waitReady(ctx, caPEM); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, c.Logs())
	}
	ok = true
	return c, nil
}

func (c *Cluster) run(bin string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: &log}, nil
	cmd.Stderr = cmd.Stdout
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	c.logs = append(c.logs, &log)
	return cmd, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 4<<20 { // keep the head: the start-up problems are there
		return len(p), nil
	}
	return l.w.Write(p)
}

// Logs returns the tail of etcd's and the API server's output (for failure messages).
func (c *Cluster) Logs() string {
	var b bytes.Buffer
	for i, l := range c.logs {
		s := l.String()
		if len(s) > 8000 {
			s = s[len(s)-8000:]
		}
		fmt.Fprintf(&b, "--- process %d log tail:\n%s\n", i, s)
	}
	return b.String()
}

func (c *Cluster) waitReady(ctx context.Context, caPEM []byte) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, cmd := range []*exec.Cmd{c.etcd, c.apiserver} {
			if cmd.ProcessState != nil || processGone(cmd) {
				return fmt.Errorf("%s exited", filepath.Base(cmd.Path))
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Config.Host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+AdminToken)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s: %v", StartTimeout, last)
}

func processGone(cmd *exec.Cmd) bool {
	return cmd.Process.Signal(syscall.Signal(0)) != nil
}

// Stop kills the API server and etcd and removes the folder.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		for _, cmd := range []*exec.Cmd{c.apiserver, c.etcd} {
			if cmd != nil && cmd.Process != nil {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-done
				}
			}
		}
		_ = os.RemoveAll(c.Dir)
	})
}

// CRDResource is the API server's CustomResourceDefinition resource.
var CRDResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs creates wasmesh's generated CustomResourceDefinitions (kube.CRDs) and waits
// until the API server serves them (condition Established, StartTimeout).
func InstallCRDs(ctx context.Context, cfg *rest.Config) error {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crds, err := kube.CRDs()
	if err != nil {
		return err
	}
	for _, c := range crds {
		if _, err := dc.Resource(CRDResource).Create(ctx, &unstructured.Unstructured{Object: c}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create CRD %v: %w", c["metadata"], err)
		}
	}
	return e2e.WaitFor(StartTimeout, func() error {
		for _, k := range crd.Kinds() {
			name := kube.Plural(k) + "." + kube.Group
			u, err := dc.Resource(CRDResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil || !established(u) {
				return fmt.Errorf("CRD %s not established (err %v)", name, err)
			}
		}
		return nil
	})
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// Kubeconfig renders a kubeconfig file's content reaching the cluster as the administrator.
func (c *Cluster) Kubeconfig() []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority-data: %q}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, c.Config.Host, base64.StdEncoding.EncodeToString(c.Config.CAData), AdminToken))
}
