// Command etcd is etcd 3.6.4 (the version Kubernetes 1.34 pins), built from the Go module
// proxy by scripts/kube.sh for the Kubernetes integration tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
