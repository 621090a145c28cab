package main

import (
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// filterTemplates is the filter scaffold, in the model of examples/filters/apikey: the folder
// NAME stands for the filter's name, and every file is a text/template ending in .tmpl.
//
//go:embed templates/filter
var filterTemplates embed.FS

// filterNameRE is what a filter name may be: a Go package name that is also a .wasm file name
// and a WasmPlugin name (lowercase letters and digits, a letter first).
var filterNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,39}$`)

// runNew is `wasmesh new filter NAME [-dir DIR]`: it writes a working filter into DIR
// (default ./NAME), inside the Go module that holds DIR: the logic package DIR/NAME
// (config.go with a strict parser, filter.go, plugin.go, native tests and fuzz seeds),
// DIR/main.go, a .wasm test under testenv (DIR/wasm_test.go), replay cases
// (DIR/testdata/NAME.yaml) and a WasmPlugin sample (DIR/wasmplugin.yaml). The module is built
// to <module root>/build/NAME.wasm, where `make build` and `wasmesh build` put it.
func runNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the folder to create (default ./NAME); it must not exist and must be inside a Go module")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wasmesh new filter NAME [-dir DIR]\n\nScaffolds a working filter named NAME in DIR (default ./NAME): logic package, main.go,\nstrict config parser, native tests, a .wasm test under testenv, replay cases, a WasmPlugin sample.")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "filter" {
		return &exitError{code: 2, err: errors.New("want `wasmesh new filter NAME [-dir DIR]`")}
	}
	name := pos[1]
	if !filterNameRE.MatchString(name) {
		return &exitError{code: 2, err: fmt.Errorf("filter name %q: want lowercase letters and digits, a letter first (it names the Go package, the .wasm and the WasmPlugin), e.g. %q",
			name, strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]`).ReplaceAllString(name, "")))}
	}
	if *dir == "" {
		*dir = name
	}
	files, err := scaffold(name, *dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "create %s\n", f)
	}
	data, _ := scaffoldData(name, *dir)
	fmt.Fprintf(stdout, "\nnext, in the module root (%s):\n"+
		"  wasmesh build %s -o %s\n"+
		"  go test ./%s/...\n"+
		"  wasmesh replay %s/testdata/%s.yaml   (add --envoy: the same cases in a real Envoy)\n",
		data.RootName, data.Dir, data.WasmFromRoot, data.Dir, data.Dir, name)
	return nil
}

// newData is what the templates see.
type newData struct {
	Name     string // the filter's name, e.g. "myfilter"
	Exported string // Name capitalised, for test names
	Import   string // the logic package's import path
	Dir      string // the filter's folder, relative to the module root, slash-separated
	RootName string // the module root, relative to the working directory when inside it
	// WasmFromRoot, WasmFromDir, WasmFromTestdata: build/NAME.wasm of the module root, from
	// the root, from Dir and from Dir/testdata.
	WasmFromRoot, WasmFromDir, WasmFromTestdata string
}

// scaffoldData finds the Go module holding dir and derives every name from name.
func scaffoldData(name, dir string) (newData, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return newData{}, err
	}
	root, mod, err := moduleOf(filepath.Dir(abs))
	if err != nil {
		return newData{}, err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return newData{}, err
	}
	rel = filepath.ToSlash(rel)
	up := strings.Repeat("../", strings.Count(rel, "/")+1)
	rootName := root
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, root); err == nil && !strings.HasPrefix(r, "..") {
			rootName = r
		}
	}
	return newData{
		Name: name, Exported: strings.ToUpper(name[:1]) + name[1:],
		Import: path.Join(mod, rel, name), Dir: rel, RootName: rootName,
		WasmFromRoot:     "build/" + name + ".wasm",
		WasmFromDir:      up + "build/" + name + ".wasm",
		WasmFromTestdata: "../" + up + "build/" + name + ".wasm",
	}, nil
}

var moduleLineRE = regexp.MustCompile(`(?m)^module\s+("?)(\S+?)("?)\s*$`)

// moduleOf walks up from dir to the go.mod holding it and returns its folder and module path.
func moduleOf(dir string) (root, module string, err error) {
	for d := dir; ; {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			m := moduleLineRE.FindSubmatch(b)
			if m == nil {
				return "", "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			return d, string(m[2]), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", fmt.Errorf("%s is not inside a Go module: run `go mod init <module path>` there first, then `go get github.com/wasmesh/wasmesh`", dir)
		}
		d = parent
	}
}

// scaffold writes the filter's files into dir, which must not exist yet; it returns them,
// relative to the working directory. Nothing is written when anything is wrong.
func scaffold(name, dir string) ([]string, error) {
	data, err := scaffoldData(name, dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%s already exists: choose another -dir, or remove it", dir)
	}
	type file struct {
		path string
		body []byte
	}
	var out []file
	err = fs.WalkDir(filterTemplates, "templates/filter", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := filterTemplates.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "templates/filter/"), ".tmpl")
		rel = strings.ReplaceAll(rel, "NAME", name)
		t, err := template.New(rel).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		body := b.Bytes()
		if strings.HasSuffix(rel, ".go") {
			if body, err = format.Source(body); err != nil {
				return fmt.Errorf("template %s: %w", p, err)
			}
		}
		out = append(out, file{filepath.Join(dir, filepath.FromSlash(rel)), body})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var written []string
	for _, f := range out {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.path, f.body, 0o644); err != nil {
			return nil, err
		}
		written = append(written, f.path)
	}
	return written, nil
}
