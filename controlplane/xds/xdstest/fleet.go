package xdstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// Complete reports whether the client holds a version of every xDS type.
func Complete(c *Client) bool {
	for _, typ := range Types() {
		if c.State(typ).Version == "" {
			return false
		}
	}
	return true
}

// FleetNode is sidecar i of a simulated fleet: a node of Service svc-<i%10>, version v1, with
// addresses of its own on 127.0.0.0/8.
func FleetNode(i int) translate.Node {
	return translate.Node{
		ID: fmt.Sprintf("svc-%d.v1.%d", i%10, i), Service: fmt.Sprintf("svc-%d", i%10), Version: "v1",
		AppAddress:      fmt.Sprintf("127.0.%d.%d:8080", i/250, i%250+1),
		InboundAddress:  fmt.Sprintf("127.0.%d.%d:15006", i/250, i%250+1),
		OutboundAddress: fmt.Sprintf("127.0.%d.%d:15001", i/250, i%250+1),
	}
}

// DialFleet connects the first n FleetNode sidecars to addr (at most 50 dialing at once), each
// with its credential token(node id), and waits until each is Complete, for at most timeout.
func DialFleet(addr string, token func(nodeID string) string, n int, timeout time.Duration) ([]*Client, error) {
	clients := make([]*Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 50)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			node := FleetNode(i)
			c, err := Dial(addr, token(node.ID), NodeProto(node), nil)
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = c
			errs[i] = c.Wait(ctx, Complete)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
		return nil, err
	}
	return clients, nil
}

// StageConfig returns the configuration of one stage (filter) of a pipeline configuration
// (`{"stages":[{"filter":...,"config":{...}}]}`), or "" when the pipeline has no such stage.
func StageConfig(pipeline, filter string) string {
	var p struct {
		Stages []struct {
			Filter string          `json:"filter"`
			Config json.RawMessage `json:"config"`
		} `json:"stages"`
	}
	if json.Unmarshal([]byte(pipeline), &p) != nil {
		return ""
	}
	for _, s := range p.Stages {
		if s.Filter == filter {
			return string(s.Config)
		}
	}
	return ""
}
