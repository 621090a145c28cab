// Package chain is the pipeline of built-in filters: one plugin (root_id "chain" in the
// bundle build/wasmesh.wasm) that runs the configured stages — any of telemetry, fault,
// router and canary, each with its own configuration exactly as the standalone filter takes
// it — in one HTTP context (sdk.NewPipeline): request headers read once, edits written once,
// clear_route_cache at most once. docs/filters.md ("The pipeline") has the schema.
package chain

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
)

// RootID is the pipeline's root_id in the bundle module.
const RootID = "chain"

// Filters returns the parser of each built-in filter a stage may name.
func Filters() map[string]func(data []byte) (sdk.HTTPFilter, error) {
	return map[string]func([]byte) (sdk.HTTPFilter, error){
		telemetry.RootID: func(b []byte) (sdk.HTTPFilter, error) { return telemetry.Parse(b) },
		fault.RootID:     func(b []byte) (sdk.HTTPFilter, error) { return fault.Parse(b) },
		router.RootID:    func(b []byte) (sdk.HTTPFilter, error) { return router.Parse(b) },
		canary.RootID:    func(b []byte) (sdk.HTTPFilter, error) { return canary.Parse(b) },
		authz.RootID:     func(b []byte) (sdk.HTTPFilter, error) { return authz.Parse(b) },
	}
}

// Config is the pipeline's configuration: `{"stages": [{"filter": NAME, "config": {...}}]}`,
// stages in chain order.
type Config struct {
	Stages []StageConfig `json:"stages"`
}

// StageConfig is one stage: a built-in filter and its configuration (JSON, as the standalone
// filter takes it).
type StageConfig struct {
	Filter string `json:"filter"`
	Config []byte `json:"-"`
}

// Parse parses and compiles the pipeline's configuration strictly. Every problem is reported
// with its JSON path, a stage's own ones under stages[i].config.
func Parse(data []byte) ([]sdk.Stage, error) {
	var errs config.Errors
	root, ok := config.Parse(data, &errs)
	if !ok {
		return nil, errs.Err()
	}
	arr, ok := root.Array("stages")
	if !ok && !root.Has("stages") {
		root.Errorf("stages: required (a list of {filter, config})")
	}
	root.Close()
	parsers := Filters()
	var stages []sdk.Stage
	var stageErrs []error
	seen := map[string]bool{}
	for i, v := range arr {
		o, ok := v.Object()
		if !ok {
			continue
		}
		var name string
		if !o.String("filter", &name) {
			if !o.Has("filter") {
				o.Errorf("filter: required (one of %s)", strings.Join(names(parsers), ", "))
			}
		}
		cfg, hasCfg := o.Get("config")
		o.Close()
		if name == "" {
			continue
		}
		parse, known := parsers[name]
		switch {
		case !known:
			v.Errorf("filter: unknown filter %q (known: %s)", name, strings.Join(names(parsers), ", "))
			continue
		case seen[name]:
			v.Errorf("filter: %q appears twice (each filter runs once per request)", name)
			continue
		}
		seen[name] = true
		raw := []byte(nil)
		if hasCfg {
			raw = []byte(cfg.Raw())
		}
		f, err := parse(raw)
		if err != nil {
			stageErrs = append(stageErrs, config.Prefix(config.Join(config.Index("stages", i), "config"), err))
			continue
		}
		stages = append(stages, sdk.Stage{Name: name, Filter: f})
	}
	if err := errors.Join(errs.Err(), errors.Join(stageErrs...)); err != nil {
		return nil, err
	}
	return stages, nil
}

func names(m map[string]func([]byte) (sdk.HTTPFilter, error)) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// NewPluginContext creates the pipeline's plugin context (the bundle, under root_id "chain").
var NewPluginContext = sdk.NewPipeline(RootID, Parse)

// Marshal returns the pipeline configuration for the stages, in order: what the control plane
// emits and what Parse reads.
func Marshal(stages []StageConfig) []byte {
	b := []byte(`{"stages":[`)
	for i, s := range stages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"filter":`...)
		b = strconv.AppendQuote(b, s.Filter)
		if len(s.Config) > 0 {
			b = append(b, `,"config":`...)
			b = append(b, s.Config...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
