package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/observe"
)

// PrometheusScrapeInterval is how often the sandbox's Prometheus scrapes the sidecars.
const PrometheusScrapeInterval = 2 * time.Second

// FindPrometheus resolves the --prometheus flag: "auto" is prometheus on PATH when there is
// one ("" otherwise: the control plane scrapes the sidecars itself), "off" is none, anything
// else the binary to run.
func FindPrometheus(flag string) (string, error) {
	switch flag {
	case "off", "":
		return "", nil
	case "auto":
		p, err := exec.LookPath("prometheus")
		if err != nil {
			return "", nil
		}
		return p, nil
	}
	p, err := exec.LookPath(flag)
	if err != nil {
		return "", fmt.Errorf("--prometheus %s: %w", flag, err)
	}
	return p, nil
}

// PrometheusTargets are the sidecar admins the sandbox's Prometheus scrapes.
func PrometheusTargets(t Topology) []observe.Target {
	var out []observe.Target
	for _, in := range t.Instances {
		out = append(out, observe.Target{Node: in.NodeID(), Service: in.Service, Version: in.Version, Admin: in.AdminAddress()})
	}
	return out
}

// startPrometheus runs Prometheus on the topology's Prometheus port with a generated scrape
// config for every sidecar, its data and log in dir, and waits until it is ready.
func startPrometheus(ctx context.Context, bin string, t Topology, dir string) (*sidecar, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	cfg, err := writeFile(dir, "prometheus.yml", []byte(observe.ScrapeConfig(PrometheusTargets(t), PrometheusScrapeInterval)))
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	args := []string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=1d", "--web.listen-address=" + t.Addr(t.Prometheus)}
	p, err := startProcess("prometheus", bin, args, Instance{Service: "prometheus"}, filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := p.waitReady(rctx, "/-/ready", "http://"+t.Addr(t.Prometheus)+"/-/ready"); err != nil {
		p.stop(time.Second)
		return nil, err
	}
	return p, nil
}
