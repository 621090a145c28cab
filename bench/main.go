package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

type options struct {
	out         string
	buildDir    string
	fixedQPS    float64
	conns       int
	fixedDur    time.Duration
	maxDur      time.Duration
	warmup      time.Duration
	soak        int
	concurrency int
	only        string
	goBench     string
	goBenchTime string
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "write the markdown report here (- for stdout)")
	flag.StringVar(&o.buildDir, "build", "build", "directory of the built .wasm modules")
	flag.Float64Var(&o.fixedQPS, "qps", 1000, "fixed request rate of the latency runs")
	flag.IntVar(&o.conns, "c", 16, "connections")
	flag.DurationVar(&o.fixedDur, "t", 30*time.Second, "duration of each fixed-rate run")
	flag.DurationVar(&o.maxDur, "max-t", 10*time.Second, "duration of each maximum-rate run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "warm-up before measuring each scenario")
	flag.IntVar(&o.soak, "soak", 1_000_000, "requests of the soak run (0 skips it)")
	flag.IntVar(&o.concurrency, "concurrency", 1, "Envoy worker threads (the load generator and the upstream share the machine)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario names to run (default all)")
	flag.StringVar(&o.goBench, "go", "./testenv/... ./sdk/... ./filters/... ./controlplane/...", "packages whose Go benchmarks go into the report (empty skips)")
	flag.StringVar(&o.goBenchTime, "benchtime", "1s", "go test -benchtime for the Go benchmarks")
	quick := flag.Bool("quick", false, "short runs (5s fixed, 3s max, 1s warm-up, 20,000-request soak, -benchtime 100x)")
	flag.Parse()
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quickly := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		quickly("t", func() { o.fixedDur = 5 * time.Second })
		quickly("max-t", func() { o.maxDur = 3 * time.Second })
		quickly("warmup", func() { o.warmup = time.Second })
		quickly("soak", func() { o.soak = 20_000 })
		quickly("benchtime", func() { o.goBenchTime = "100x" })
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measured is one scenario's results.
type measured struct {
	sc       scenario
	fixed    *loadResult
	max      *loadResult
	cpuPer1k float64 // % of one core per 1,000 rps during the fixed-rate run
	rssMiB   float64
}

type soakResult struct {
	requests                 int64
	rssStart, rssMid, rssEnd float64
	load                     *loadResult
}

func run(ctx context.Context, o options) error {
	root := envoybin.RepoRoot()
	if err := os.Chdir(root); err != nil {
		return err
	}
	bin, err := envoybin.Find("")
	if err != nil {
		return err
	}
	fortio, err := ensureFortio(root)
	if err != nil {
		return err
	}
	buildDir, _ := filepath.Abs(o.buildDir)
	all := scenarios(buildDir)
	var selected []scenario
	for _, sc := range all {
		if o.only == "" || contains(strings.Split(o.only, ","), sc.Name) {
			selected = append(selected, sc)
		}
	}
	needWasm := o.soak > 0
	for _, sc := range selected {
		needWasm = needWasm || (sc.Name != "bare" && sc.Name != "native")
	}
	for _, n := range append(append([]string{}, chainOrder...), "wasmesh", "noop") {
		if !needWasm {
			break
		}
		p := filepath.Join(buildDir, n+".wasm")
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing: run make build", p)
		}
	}
	ports, err := e2e.FreePorts(2)
	if err != nil {
		return err
	}
	echo, err := startEcho(ctx, fortio, ports[0])
	if err != nil {
		return err
	}
	defer echo.stop()
	logf("upstream: fortio echo server on %s; Envoy %s (%s), %d worker(s)", echo.addr, bin.Version, bin.Path, o.concurrency)

	loadStart := loadAverage()
	var results []measured
	for _, sc := range selected {
		m, err := measure(ctx, o, bin.Path, fortio, echo.addr, ports[1], sc)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		results = append(results, *m)
	}
	var soak *soakResult
	if o.soak > 0 {
		for _, sc := range all {
			if sc.Name == "chain-pipeline" {
				if soak, err = runSoak(ctx, o, bin.Path, fortio, echo.addr, ports[1], sc); err != nil {
					return fmt.Errorf("soak: %w", err)
				}
			}
		}
	}
	var goLines []string
	if strings.TrimSpace(o.goBench) != "" {
		logf("go benchmarks: %s", o.goBench)
		// A failing Go benchmark costs its own lines, not the Envoy figures measured above.
		if goLines, err = goBenchmarks(ctx, strings.Fields(o.goBench), o.goBenchTime); err != nil {
			logf("go benchmarks: %v", err)
			goLines = append(goLines, "(some Go benchmarks failed: "+firstLine(err.Error())+"; see make bench's output)")
		}
	}
	report := renderReport(o, bin.Version, results, soak, goLines, loadStart)
	if o.out == "-" {
		_, err = os.Stdout.WriteString(report)
		return err
	}
	if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
		return err
	}
	logf("wrote %s", o.out)
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func startScenario(ctx context.Context, o options, envoy, upstream string, port int, sc scenario) (*e2e.Envoy, error) {
	dir, err := os.MkdirTemp("", "wasmesh-bench-"+sc.Name+"-")
	if err != nil {
		return nil, err
	}
	cfg, err := sc.config(port, upstream, dir)
	if err != nil {
		return nil, err
	}
	return e2e.StartEnvoy(ctx, e2e.EnvoyOptions{Name: "bench-" + sc.Name, Config: cfg, Dir: dir,
		Concurrency: o.concurrency, Binary: envoy, LogLevel: "info"})
}

func measure(ctx context.Context, o options, envoy, fortio, upstream string, port int, sc scenario) (*measured, error) {
	logf("%-15s start", sc.Name)
	e, err := startScenario(ctx, o, envoy, upstream, port, sc)
	if err != nil {
		return nil, err
	}
	defer func() { e.Stop(); os.RemoveAll(e.Dir) }()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	spec := loadSpec{URL: url, Host: "reviews", QPS: o.fixedQPS, Connections: o.conns, Duration: o.warmup}
	if _, err := runLoad(ctx, fortio, spec); err != nil {
		return nil, fmt.Errorf("warm-up: %w\n%s", err, e.LogProblems(20))
	}
	cpu0, err := cpuTime(e.PID())
	if err != nil {
		return nil, err
	}
	spec.Duration = o.fixedDur
	fixed, err := runLoad(ctx, fortio, spec)
	if err != nil {
		return nil, fmt.Errorf("fixed rate: %w\n%s", err, e.LogProblems(20))
	}
	cpu1, err := cpuTime(e.PID())
	if err != nil {
		return nil, err
	}
	rss, err := e.RSS()
	if err != nil {
		return nil, err
	}
	spec.QPS, spec.Duration = 0, o.maxDur
	maxr, err := runLoad(ctx, fortio, spec)
	if err != nil {
		return nil, fmt.Errorf("max rate: %w\n%s", err, e.LogProblems(20))
	}
	if fixed.Non2xx > 0 || maxr.Non2xx > 0 {
		return nil, fmt.Errorf("non-2xx answers (%d at fixed rate, %d at max rate): the scenario is misconfigured\n%s", fixed.Non2xx, maxr.Non2xx, e.LogProblems(20))
	}
	m := &measured{sc: sc, fixed: fixed, max: maxr, rssMiB: float64(rss) / (1 << 20)}
	if fixed.Elapsed > 0 && fixed.ActualQPS > 0 {
		m.cpuPer1k = 100 * (cpu1 - cpu0).Seconds() / fixed.Elapsed.Seconds() / (fixed.ActualQPS / 1000)
	}
	logf("%-15s p50 %v p99 %v at %.0f rps; max %.0f rps; cpu %.1f%%/1k rps; rss %.1f MiB",
		sc.Name, fixed.P50, fixed.P99, fixed.ActualQPS, maxr.ActualQPS, m.cpuPer1k, m.rssMiB)
	return m, nil
}

func runSoak(ctx context.Context, o options, envoy, fortio, upstream string, port int, sc scenario) (*soakResult, error) {
	logf("soak: %d requests through %s", o.soak, sc.Name)
	e, err := startScenario(ctx, o, envoy, upstream, port, sc)
	if err != nil {
		return nil, err
	}
	defer func() { e.Stop(); os.RemoveAll(e.Dir) }()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if _, err := runLoad(ctx, fortio, loadSpec{URL: url, Host: "reviews", QPS: o.fixedQPS, Connections: o.conns, Duration: o.warmup}); err != nil {
		return nil, err
	}
	rss0, err := e.RSS()
	if err != nil {
		return nil, err
	}
	base, _, _ := e.Stat("http.wasmesh.downstream_rq_completed")
	res := &soakResult{rssStart: float64(rss0) / (1 << 20)}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n, _, err := e.Stat("http.wasmesh.downstream_rq_completed")
				if err == nil && n-base >= int64(o.soak/2) && res.rssMid == 0 {
					if rss, err := e.RSS(); err == nil {
						res.rssMid = float64(rss) / (1 << 20)
					}
				}
			}
		}
	}()
	load, err := runLoad(ctx, fortio, loadSpec{URL: url, Host: "reviews", QPS: 0, Connections: o.conns, Requests: o.soak})
	close(done)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	rss1, err := e.RSS()
	if err != nil {
		return nil, err
	}
	res.rssEnd, res.load, res.requests = float64(rss1)/(1<<20), load, load.Requests
	logf("soak: RSS %.1f → %.1f → %.1f MiB over %d requests", res.rssStart, res.rssMid, res.rssEnd, res.requests)
	return res, nil
}

// goBenchmarks runs go test -bench on pkgs and returns the benchmark result lines.
func goBenchmarks(ctx context.Context, pkgs []string, benchtime string) ([]string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime, "-count", "1"}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var lines, failed []string
	pkg := ""
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "--- FAIL: "):
			failed = append(failed, strings.TrimPrefix(l, "--- FAIL: "))
		case strings.HasPrefix(l, "pkg: "):
			pkg = strings.TrimPrefix(l, "pkg: ")
		case strings.HasPrefix(l, "Benchmark"):
			lines = append(lines, strings.TrimPrefix(pkg, "github.com/wasmesh/wasmesh/")+"\t"+l)
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return lines, fmt.Errorf("go %s: %w (failed: %s)\n%s", strings.Join(args, " "), err, strings.Join(failed, ", "), out.String())
	}
	return lines, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
