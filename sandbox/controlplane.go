package sandbox

// ServeArgs is the `wasmesh serve` command line that runs the topology's control plane. When
// the sidecar admins are not on loopback (containers), it reads them there for the graph.
func ServeArgs(t Topology, dataDir, buildDir string) []string {
	args := []string{"wasmesh", "serve",
		"--xds", t.Addr(t.XDS), "--http", t.Addr(t.HTTP),
		"--data-dir", dataDir, "--modules", buildDir}
	for _, in := range t.Instances {
		if in.AdminIP != "127.0.0.1" {
			return append(args, "--scrape-remote")
		}
	}
	return args
}

// ApplyArgs is the `wasmesh apply` command line that applies the given files or folders to the
// topology's control plane, reading the API token from the control plane's data directory.
func ApplyArgs(t Topology, dataDir string, paths ...string) []string {
	args := []string{"wasmesh", "apply", "--server", "http://" + t.HTTPAddress(), "--data-dir", dataDir}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	return args
}

// StatusArgs is the `wasmesh status` command line that asks the topology's control plane for
// its nodes, reading the API token from the control plane's data directory. The compose
// control plane's health check runs it against itself (NewTopology: on loopback).
func StatusArgs(t Topology, dataDir string) []string {
	return []string{"wasmesh", "status", "--server", "http://" + t.HTTPAddress(), "--data-dir", dataDir}
}
