package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runBuild is `wasmesh build [-o OUT] [DIR...]`: each DIR (default ".") is a filter's main
// package, built with the upstream Go toolchain to OUT/<dir name>.wasm (GOOS=wasip1
// GOARCH=wasm -buildmode=c-shared), one progress line per module, then checked like
// `wasmesh check` does; a module stock Envoy 1.40 cannot load fails the command.
func runBuild(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "build", "output directory, or the .wasm file when building one DIR")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wasmesh build [-o OUT] [DIR...]\n\nBuilds each filter main package (default: the current directory) to OUT/<name>.wasm\nwith GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, then checks it loads in stock Envoy 1.40.")
		fs.PrintDefaults()
	}
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	dirs := files
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	toFile := strings.HasSuffix(*out, ".wasm")
	if toFile && len(dirs) > 1 {
		return &exitError{code: 2, err: fmt.Errorf("-o %s names one file, but %d directories were given: use an output directory", *out, len(dirs))}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the Go toolchain (go) is not on PATH: wasmesh build needs Go 1.24 or newer")
	}
	targets := make([]string, len(dirs))
	for i, dir := range dirs {
		if err := checkMainPackage(goBin, dir); err != nil {
			return err
		}
		name, err := moduleName(dir)
		if err != nil {
			return err
		}
		targets[i] = filepath.Join(*out, name+".wasm")
		if toFile {
			targets[i] = *out
		}
	}
	if err := os.MkdirAll(filepath.Dir(targets[0]), 0o755); err != nil {
		return err
	}
	var refused []string
	for i, dir := range dirs {
		start := time.Now()
		if err := goBuildWasm(goBin, dir, targets[i], stderr); err != nil {
			return err
		}
		took := time.Since(start)
		info, err := inspectFile(targets[i])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "build  %-32s %9s  %5.1fs  %s\n", targets[i], humanBytes(info.Size), took.Seconds(), verdict(info))
		printProblems(stdout, info)
		if len(info.Problems) > 0 {
			refused = append(refused, targets[i])
		}
	}
	switch len(refused) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s: %w", refused[0], errCannotLoad)
	}
	return fmt.Errorf("%d modules: %w", len(refused), errCannotLoad)
}

// moduleName is the name of the .wasm a directory builds to: the directory's own name.
func moduleName(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.Base(abs), nil
}

// checkMainPackage refuses a directory that is missing or holds no main package, naming it.
func checkMainPackage(goBin, dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory (want a filter's main package)", dir)
	}
	cmd := exec.Command(goBin, "list", "-f", "{{.Name}}", ".")
	cmd.Dir = dir // the go command works in the directory's own module
	cmd.Env = wasmEnv()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	name, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %s", dir, strings.TrimSpace(errb.String()))
	}
	if n := strings.TrimSpace(string(name)); n != "main" {
		return fmt.Errorf("%s: package %s is not a main package (a filter is built from package main)", dir, n)
	}
	return nil
}

func wasmEnv() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
}

// goBuildWasm builds dir (in its own module) to target through a temporary file, so a failed
// build leaves no half-written module; the compiler's messages go to stderr.
func goBuildWasm(goBin, dir, target string, stderr io.Writer) error {
	tmp, err := filepath.Abs(target + ".tmp")
	if err != nil {
		return err
	}
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", tmp, ".")
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("%s: go build: %w", dir, err)
	}
	return os.Rename(tmp, target)
}
