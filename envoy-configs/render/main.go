// Command render prints a wasmesh sidecar bootstrap (internal/bootstrap) for the given flags;
// each flag defaults to its WASMESH_* environment variable, then to envoy-configs/sidecar.yaml's
// value. Usage:
//
//	go run ./envoy-configs/render -service reviews -version v2 -app 127.0.0.1:9080 \
//	    -xds-token "$(wasmesh credential reviews.v2.0)" > reviews-v2.yaml
//	envoy -c reviews-v2.yaml --base-id 1
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

func main() {
	p := bootstrap.FromEnv(bootstrap.Defaults(), os.Getenv)
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	fs.StringVar(&p.NodeID, "node-id", p.NodeID, "node id (default <service>.<version>.0; env WASMESH_NODE_ID)")
	fs.StringVar(&p.Service, "service", p.Service, "service this sidecar fronts (env WASMESH_SERVICE)")
	fs.StringVar(&p.Version, "version", p.Version, "version of the service (env WASMESH_VERSION)")
	fs.StringVar(&p.AppAddress, "app", p.AppAddress, "host:port of the local app (env WASMESH_APP_ADDRESS)")
	fs.StringVar(&p.InboundAddress, "inbound", p.InboundAddress, "host:port of the inbound listener (env WASMESH_INBOUND_ADDRESS)")
	fs.StringVar(&p.OutboundAddress, "outbound", p.OutboundAddress, "host:port of the outbound listener (env WASMESH_OUTBOUND_ADDRESS)")
	fs.StringVar(&p.AdminAddress, "admin", p.AdminAddress, "host:port of Envoy's admin (default "+bootstrap.DefaultAdminAddress+"; env WASMESH_ADMIN_ADDRESS)")
	fs.StringVar(&p.XDSAddress, "xds", p.XDSAddress, "control plane ADS host:port (default "+bootstrap.DefaultXDSAddress+"; env WASMESH_XDS_ADDRESS)")
	fs.StringVar(&p.ModulesAddress, "modules", p.ModulesAddress, "control plane module server host:port (default "+bootstrap.DefaultModulesAddress+"; env WASMESH_MODULES_ADDRESS)")
	fs.StringVar(&p.XDSToken, "xds-token", p.XDSToken, "the sidecar's xDS credential: the output of `wasmesh credential <node id>` (env WASMESH_XDS_TOKEN)")
	_ = fs.Parse(os.Args[1:])
	out, err := bootstrap.Render(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
