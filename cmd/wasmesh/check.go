package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/wasmesh/wasmesh/testenv"
)

// errCannotLoad marks a module stock Envoy would refuse; the reasons are already printed.
var errCannotLoad = errors.New("stock Envoy 1.40 cannot load it")

// runCheck is `wasmesh check [-q] FILE.wasm...`: what each module imports and exports, its ABI
// version, size and sha256, and whether stock Envoy 1.40 can load it, with each reason when it
// cannot (exit 1).
func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "print only the verdict line (and the reasons a module cannot load)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wasmesh check [-q] FILE.wasm...\n\nTells whether stock Envoy 1.40 can load each module, and why not.")
		fs.PrintDefaults()
	}
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return &exitError{code: 2, err: errors.New("no module given (usage: wasmesh check FILE.wasm...)")}
	}
	var refused []string
	for i, path := range files {
		if i > 0 && !*quiet {
			fmt.Fprintln(stdout)
		}
		info, err := inspectFile(path)
		if err != nil {
			return err
		}
		printCheck(stdout, path, info, *quiet)
		if len(info.Problems) > 0 {
			refused = append(refused, path)
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

// wasmMagic starts every binary WebAssembly module.
var wasmMagic = []byte("\x00asm")

// inspectFile reads and analyses one module, with clear errors for a bad path or a file that
// is not WebAssembly.
func inspectFile(path string) (*testenv.ModuleInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a .wasm file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, wasmMagic) {
		if len(data) == 0 {
			return nil, fmt.Errorf("%s: not a WebAssembly module: the file is empty", path)
		}
		return nil, fmt.Errorf("%s: not a WebAssembly module: it does not start with \\0asm", path)
	}
	info, err := testenv.Inspect(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// verdict is the one-line answer for a module.
func verdict(info *testenv.ModuleInfo) string {
	if len(info.Problems) == 0 {
		return "loads in stock Envoy 1.40"
	}
	n := "1 reason"
	if len(info.Problems) > 1 {
		n = fmt.Sprintf("%d reasons", len(info.Problems))
	}
	return "stock Envoy 1.40 cannot load it (" + n + ")"
}

func printCheck(w io.Writer, path string, info *testenv.ModuleInfo, quiet bool) {
	if quiet {
		fmt.Fprintf(w, "%s: %s\n", path, verdict(info))
		printProblems(w, info)
		return
	}
	abi := info.ABIVersion
	if abi == "" {
		abi = "none (no proxy_abi_version_* export)"
	}
	reactor := "no (no _initialize export: not built with -buildmode=c-shared)"
	if info.Reactor {
		reactor = "yes (_initialize)"
	}
	fmt.Fprintf(w, "%s\n", path)
	fmt.Fprintf(w, "  size     %s (%d bytes)\n", humanBytes(info.Size), info.Size)
	fmt.Fprintf(w, "  sha256   %s\n", info.SHA256)
	fmt.Fprintf(w, "  abi      %s\n", abi)
	fmt.Fprintf(w, "  reactor  %s\n", reactor)
	imports := make([]string, len(info.Imports))
	for i, im := range info.Imports {
		imports[i] = im.Module + "." + im.Name
	}
	sort.Strings(imports)
	fmt.Fprintf(w, "  imports  %d\n", len(imports))
	for _, im := range imports {
		fmt.Fprintf(w, "    %s\n", im)
	}
	exports := append([]string(nil), info.Exports...)
	sort.Strings(exports)
	fmt.Fprintf(w, "  exports  %d\n", len(exports))
	for _, ex := range exports {
		fmt.Fprintf(w, "    %s\n", ex)
	}
	fmt.Fprintf(w, "  envoy    %s\n", verdict(info))
	printProblems(w, info)
}

func printProblems(w io.Writer, info *testenv.ModuleInfo) {
	for _, p := range info.Problems {
		fmt.Fprintf(w, "    - %s\n", p)
	}
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parseFlags parses args with fs, allowing flags after the positional arguments too
// (`wasmesh check a.wasm -q`); a bad flag is a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: 2, err: err}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
