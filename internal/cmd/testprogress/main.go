// Command testprogress turns `go test -json` into progress a person can watch: one line per
// package as it finishes (ok, FAIL, or no test files), the whole output of a failed package
// (or of a package that does not build), and, every 30 seconds while a package runs longer
// than that, which ones are still running and which test each is in. A failed run ends with
// the failure lines of each failed test again, just above the count, so that a log cut to its
// head and tail still says why. It exits 1 when any package failed or did not build.
// `make test` pipes `go test -json ./...` through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

func main() {
	p := newProgress(os.Stdout, time.Now)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.waiting()
			}
		}
	}()
	err := p.read(os.Stdin)
	close(stop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testprogress:", err)
		os.Exit(2)
	}
	os.Exit(p.summary())
}

// event is one line of `go test -json` (cmd/test2json), with the build events of Go 1.24+.
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
	Elapsed    float64
}

// pkgState is what is known of a package still running.
type pkgState struct {
	start   time.Time
	output  []outputLine
	running []string // tests started and not ended, in order
}

// outputLine is one output event of a package: its text and the test that printed it.
type outputLine struct{ test, text string }

// failure is one failed test and the lines that say why.
type failure struct {
	pkg, test string
	why       []string
}

type progress struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	every   time.Duration // how often waiting() reports; also the age that makes a package long-running
	pkgs    map[string]*pkgState
	builds  map[string][]string // build output by import path
	done    int
	failed  []string
	why     []failure      // failed tests, in the order they failed
	tests   map[string]int // tests and subtests by outcome: pass, fail, skip
	started time.Time
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	return &progress{w: w, now: now, every: 30 * time.Second, pkgs: map[string]*pkgState{}, builds: map[string][]string{}, tests: map[string]int{}, started: now()}
}

// read consumes events until EOF; a line that is not JSON is printed as it is.
func (p *progress) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			p.mu.Lock()
			fmt.Fprintln(p.w, sc.Text())
			p.mu.Unlock()
			continue
		}
		p.handle(e)
	}
	return sc.Err()
}

func (p *progress) state(pkg string) *pkgState {
	s := p.pkgs[pkg]
	if s == nil {
		s = &pkgState{start: p.now()}
		p.pkgs[pkg] = s
	}
	return s
}

func (p *progress) handle(e event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Action {
	case "build-output":
		p.builds[e.ImportPath] = append(p.builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		p.done++
		p.failed = append(p.failed, e.ImportPath)
		fmt.Fprintf(p.w, "FAIL %s [build failed]\n%s", e.ImportPath, strings.Join(p.builds[e.ImportPath], ""))
		return
	}
	if e.Package == "" {
		return
	}
	s := p.state(e.Package)
	switch {
	case e.Action == "start":
		s.start = p.now()
	case e.Action == "output":
		s.output = append(s.output, outputLine{e.Test, e.Output})
	case e.Action == "run" && e.Test != "":
		s.running = append(s.running, e.Test)
	case e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
		p.tests[e.Action]++
		if e.Action == "fail" {
			p.why = append(p.why, failure{pkg: e.Package, test: e.Test, why: failureLines(s.output, e.Test)})
		}
		for i, t := range s.running {
			if t == e.Test {
				s.running = append(s.running[:i], s.running[i+1:]...)
				break
			}
		}
	case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
		p.done++
		delete(p.pkgs, e.Package)
		switch {
		case e.Action == "fail":
			p.failed = append(p.failed, e.Package)
			fmt.Fprintf(p.w, "FAIL %s %.1fs\n%s", e.Package, e.Elapsed, indentOutput(s.output))
		case e.Action == "skip":
			fmt.Fprintf(p.w, "?    %s [no test files]\n", e.Package)
		default:
			fmt.Fprintf(p.w, "ok   %s %.1fs\n", e.Package, e.Elapsed)
		}
	}
}

func indentOutput(lines []outputLine) string {
	var b strings.Builder
	for _, o := range lines {
		l := o.text
		b.WriteString("    ")
		b.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// waiting reports the packages that have run longer than p.every, each with the test it is in.
func (p *progress) waiting() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var long []string
	names := make([]string, 0, len(p.pkgs))
	for n := range p.pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := p.pkgs[n]
		age := now.Sub(s.start)
		if age < p.every {
			continue
		}
		in := ""
		if len(s.running) > 0 {
			in = ", in " + s.running[len(s.running)-1]
		}
		long = append(long, fmt.Sprintf("%s (%s%s)", n, age.Round(time.Second), in))
	}
	if len(long) > 0 {
		fmt.Fprintf(p.w, "... %s: %d package(s) done, waiting on %s\n", now.Sub(p.started).Round(time.Second), p.done, strings.Join(long, "; "))
	}
}

// summary prints the end line and returns the exit code.
func (p *progress) summary() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	took := p.now().Sub(p.started).Round(100 * time.Millisecond)
	// The last line is the plain count CI reads: tests (subtests included) passed, failed, skipped.
	counts := fmt.Sprintf("tests: %d passed, %d failed, %d skipped\n", p.tests["pass"], p.tests["fail"], p.tests["skip"])
	if len(p.failed) > 0 {
		if len(p.why) > 0 {
			fmt.Fprintln(p.w, "why (each failed test's failure lines again; its package's whole output is above):")
			for _, f := range p.why {
				fmt.Fprintf(p.w, "--- FAIL: %s %s\n", f.test, f.pkg)
				for _, l := range f.why {
					fmt.Fprintf(p.w, "    %s\n", l)
				}
			}
		}
		fmt.Fprintf(p.w, "FAIL: %d of %d package(s) failed in %s: %s\n", len(p.failed), p.done, took, strings.Join(p.failed, ", "))
		fmt.Fprint(p.w, counts)
		return 1
	}
	fmt.Fprintf(p.w, "PASS: %d package(s) in %s\n", p.done, took)
	fmt.Fprint(p.w, counts)
	return 0
}

// Bounds of the failure lines repeated at the end of a failed run.
const (
	maxWhyLines   = 12  // per failed test
	maxWhyLineLen = 300 // characters per line
)

// failureLines picks, from the lines test printed itself, those that say why: each testify
// failure (the log line that opens it and its Error Trace, Error and Messages lines; the
// first maxWhyLines), else the test's last maxWhyLines lines; each cut to maxWhyLineLen. The
// test framework's own === and --- lines are left out.
func failureLines(output []outputLine, test string) []string {
	var lines []string
	for _, o := range output {
		if o.test != test {
			continue
		}
		for l := range strings.Lines(o.text) {
			l = strings.TrimRight(l, "\r\n")
			if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
				continue
			}
			lines = append(lines, l)
		}
	}
	var picked []string
	for i := 0; i < len(lines); i++ {
		if !strings.Contains(lines[i], "Error Trace:") {
			continue
		}
		start := i
		if i > 0 && isLogLine(lines[i-1]) {
			start = i - 1
		}
		end := i + 1
		for end < len(lines) && !isLogLine(lines[end]) {
			end++
		}
		picked = append(picked, lines[start:end]...)
		i = end - 1
	}
	switch {
	case len(picked) > maxWhyLines: // a testify failure opens with its Error line: keep the start
		picked = append(picked[:maxWhyLines:maxWhyLines], fmt.Sprintf("(%d lines; the first %d)", len(picked), maxWhyLines))
	case len(picked) == 0 && len(lines) > maxWhyLines:
		picked = append([]string{fmt.Sprintf("(%d lines; the last %d)", len(lines), maxWhyLines)}, lines[len(lines)-maxWhyLines:]...)
	case len(picked) == 0:
		picked = lines
	}
	out := make([]string, len(picked))
	for i, l := range picked {
		l = strings.TrimSpace(l)
		if len(l) > maxWhyLineLen {
			n := maxWhyLineLen
			for n > 0 && !utf8.RuneStart(l[n]) {
				n--
			}
			l = l[:n] + " …"
		}
		out[i] = l
	}
	return out
}

// isLogLine reports whether l opens a t.Log or t.Error entry: "    file.go:12: …".
func isLogLine(l string) bool {
	t := strings.TrimLeft(l, " ")
	indent := len(l) - len(t)
	file, rest, ok := strings.Cut(t, ".go:")
	if !ok || indent == 0 || strings.ContainsAny(file, " \t") {
		return false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	return n > 0 && strings.HasPrefix(rest[n:], ":")
}
