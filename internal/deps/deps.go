//go:build tools

// Package deps pins dependencies that later packages use, so go mod tidy keeps them while the
// packages that import them are being written. It is never built.
package deps

import (
	_ "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	_ "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	_ "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	_ "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	_ "github.com/stretchr/testify/require"
	_ "github.com/tetratelabs/wazero"
	_ "github.com/tidwall/gjson"
	_ "go.etcd.io/bbolt"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/encoding/protojson"
	_ "sigs.k8s.io/yaml"
)
