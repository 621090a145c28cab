package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// fortioVersion is the pinned load generator. Newer fortio releases import grol.io/grol, which
// the Go module proxy does not serve here (403); 1.66.5 is the newest that installs.
const fortioVersion = "v1.66.5"

func numCPU() int { return runtime.NumCPU() }

// ensureFortio installs fortio into <root>/.tools/bin when missing and returns its path.
func ensureFortio(root string) (string, error) {
	bin := filepath.Join(root, ".tools", "bin")
	path := filepath.Join(bin, "fortio")
	if out, err := exec.Command(path, "version").Output(); err == nil && "v"+trimSpace(string(out)) == fortioVersion {
		return path, nil
	}
	fmt.Fprintf(os.Stderr, "bench: installing fortio %s into %s\n", fortioVersion, bin)
	cmd := exec.Command("go", "install", "fortio.org/fortio@"+fortioVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install fortio %s: %w", fortioVersion, err)
	}
	return path, nil
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// echoServer is a fortio echo server process on loopback: the upstream of every scenario.
type echoServer struct {
	addr string
	cmd  *exec.Cmd
}

func startEcho(ctx context.Context, fortio string, port int) (*echoServer, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.CommandContext(ctx, fortio, "server", "-http-port", addr,
		"-grpc-port", "disabled", "-redirect-port", "disabled", "-loglevel", "Error")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start fortio server: %w", err)
	}
	s := &echoServer{addr: addr, cmd: cmd}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("fortio server on %s did not answer: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *echoServer) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// loadSpec is one fortio run.
type loadSpec struct {
	URL         string
	Host        string  // Host header
	QPS         float64 // 0 or negative: as fast as possible
	Connections int
	Duration    time.Duration // used when Requests is 0
	Requests    int           // exact request count (fortio -n)
	Headers     []string      // extra "name: value" headers
}

// loadResult is what the report needs from a fortio run.
type loadResult struct {
	Requests            int64
	ActualQPS           float64
	P50, P90, P99, P999 time.Duration
	Avg                 time.Duration
	Non2xx              int64
	Elapsed             time.Duration
}

type fortioJSON struct {
	ActualQPS         float64
	ActualDuration    int64
	DurationHistogram struct {
		Count       int64
		Avg         float64
		Percentiles []struct {
			Percentile float64
			Value      float64
		}
	}
	RetCodes map[string]int64
}

// runLoad runs fortio and parses its JSON result.
func runLoad(ctx context.Context, fortio string, spec loadSpec) (*loadResult, error) {
	out, err := os.CreateTemp("", "wasmesh-bench-*.json")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	qps := "-1"
	if spec.QPS > 0 {
		qps = strconv.FormatFloat(spec.QPS, 'f', -1, 64)
	}
	args := []string{"load", "-quiet", "-qps", qps, "-c", strconv.Itoa(spec.Connections),
		"-p", "50,90,99,99.9", "-r", "0.00001", "-json", out.Name(), "-H", "Host: " + spec.Host,
		"-loglevel", "Error", "-uniform", "-nocatchup"}
	if spec.Requests > 0 {
		args = append(args, "-n", strconv.Itoa(spec.Requests))
	} else {
		args = append(args, "-t", spec.Duration.String())
	}
	for _, h := range spec.Headers {
		args = append(args, "-H", h)
	}
	args = append(args, spec.URL)
	cmd := exec.CommandContext(ctx, fortio, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("fortio %v: %w\n%s", args, err, b)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, err
	}
	var f fortioJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("fortio result: %w", err)
	}
	r := &loadResult{Requests: f.DurationHistogram.Count, ActualQPS: f.ActualQPS,
		Avg: seconds(f.DurationHistogram.Avg), Elapsed: time.Duration(f.ActualDuration)}
	for code, n := range f.RetCodes {
		if len(code) != 3 || code[0] != '2' {
			r.Non2xx += n
		}
	}
	for _, p := range f.DurationHistogram.Percentiles {
		switch p.Percentile {
		case 50:
			r.P50 = seconds(p.Value)
		case 90:
			r.P90 = seconds(p.Value)
		case 99:
			r.P99 = seconds(p.Value)
		case 99.9:
			r.P999 = seconds(p.Value)
		}
	}
	if r.Requests == 0 {
		return nil, errors.New("fortio made no requests")
	}
	return r, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
