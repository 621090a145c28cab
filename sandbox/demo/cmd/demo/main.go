// Command demo runs one sandbox demo service (the Docker variant of the sandbox runs one per
// container, next to its Envoy sidecar). See docs/sandbox.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wasmesh/wasmesh/sandbox/demo"
)

func main() {
	var cfg demo.Config
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	flag.StringVar(&cfg.Service, "service", "", "service name, e.g. reviews (required)")
	flag.StringVar(&cfg.Version, "version", "v1", "service version")
	flag.StringVar(&cfg.Instance, "instance", "", "sidecar node id (default <service>.<version>.0)")
	flag.StringVar(&cfg.Next, "next", "", "service to call through the sidecar (Host header); empty for a leaf")
	flag.StringVar(&cfg.Outbound, "outbound", "127.0.0.1:15001", "the sidecar's outbound listener")
	flag.Parse()
	if cfg.Service == "" {
		fmt.Fprintln(os.Stderr, "demo: -service is required")
		os.Exit(2)
	}
	if cfg.Instance == "" {
		cfg.Instance = cfg.Service + "." + cfg.Version + ".0"
	}
	srv, err := demo.Listen(*listen, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("demo %s %s serving on %s (next hop %q via %s)\n", cfg.Service, cfg.Version, srv.Addr(), cfg.Next, cfg.Outbound)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
