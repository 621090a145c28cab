package main

import (
	"flag"
	"os"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane/api"
)

// apiFlags are the flags of the commands that talk to the control plane API.
type apiFlags struct {
	server  string
	token   string
	dataDir string
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	server := os.Getenv("WASMESH_SERVER")
	if server == "" {
		server = api.DefaultServer
	}
	fs.StringVar(&f.server, "server", server, "control plane API address ($WASMESH_SERVER)")
	fs.StringVar(&f.token, "token", "", "API bearer token (default: $WASMESH_TOKEN, else <data-dir>/token)")
	fs.StringVar(&f.dataDir, "data-dir", api.DefaultDataDir(), "the server's data directory, to read its token from ($WASMESH_HOME)")
}

func (f *apiFlags) client() (*api.Client, error) {
	token := f.token
	if token == "" {
		token = os.Getenv("WASMESH_TOKEN")
	}
	if token == "" {
		t, err := api.ReadToken(f.dataDir)
		if err != nil {
			return nil, err
		}
		token = t
	}
	server := f.server
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	return &api.Client{BaseURL: server, Token: token}, nil
}

// parseInterleaved parses flags written anywhere among the positional arguments
// (`wasmesh get tr reviews -o yaml`) and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}
