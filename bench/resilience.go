package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// withResilience rewrites a static config (e2e.StaticConfig's JSON) into what the control
// plane emits for a Service with the mesh's default resilience policy (controlplane/translate
// resilience.go, docs/crds.md#trafficpolicy): each version's cluster becomes
// `<name>|endpoints` with outlier detection, behind an aggregate cluster `<name>` whose members
// are its own endpoints then the other versions'; each route gets the default retry policy,
// first for the idempotent methods (matched on :method) and then for the rest. It measures
// what the added Envoy configuration costs per request.
func withResilience(config []byte) ([]byte, error) {
	var cfg obj
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, err
	}
	sr := cfg["static_resources"].(obj)
	var versions []obj
	for _, c := range sr["clusters"].([]any) {
		versions = append(versions, c.(obj))
	}
	var clusters []any
	for _, c := range versions {
		name := c["name"].(string)
		ep := obj{}
		for k, v := range c {
			ep[k] = v
		}
		ep["name"] = name + "|endpoints"
		la := ep["load_assignment"].(obj)
		la["cluster_name"] = name + "|endpoints"
		la["policy"] = obj{"overprovisioning_factor": 100000}
		ep["outlier_detection"] = obj{"consecutive_5xx": 5, "enforcing_consecutive_5xx": 100, "interval": "5s",
			"base_ejection_time": "30s", "max_ejection_percent": 50, "always_eject_one_host": true, "enforcing_success_rate": 0}
		members := []any{name + "|endpoints"}
		for _, o := range versions {
			if o["name"] != name {
				members = append(members, o["name"].(string)+"|endpoints")
			}
		}
		clusters = append(clusters, ep, obj{
			"name": name, "connect_timeout": "1s", "lb_policy": "CLUSTER_PROVIDED",
			"cluster_type": obj{"name": "envoy.clusters.aggregate", "typed_config": obj{
				"@type":    "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig",
				"clusters": members}},
			"circuit_breakers": obj{"thresholds": []any{obj{"retry_budget": obj{
				"budget_percent": obj{"value": 20}, "min_retry_concurrency": 3}}}},
		})
	}
	sr["clusters"] = clusters
	retry := func(on string, codes bool) obj {
		p := obj{
			"retry_on": on, "num_retries": 2, "host_selection_retry_max_attempts": 3,
			"retry_host_predicate": []any{obj{"name": "envoy.retry_host_predicates.previous_hosts", "typed_config": obj{
				"@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"}}},
			"retry_priority": obj{"name": "envoy.retry_priorities.previous_priorities", "typed_config": obj{
				"@type":            "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig",
				"update_frequency": 1}},
		}
		if codes {
			p["retriable_status_codes"] = []any{503}
		}
		return p
	}
	hcm := sr["listeners"].([]any)[0].(obj)["filter_chains"].([]any)[0].(obj)["filters"].([]any)[0].(obj)["typed_config"].(obj)
	vh := hcm["route_config"].(obj)["virtual_hosts"].([]any)[0].(obj)
	var routes []any
	for _, r := range vh["routes"].([]any) {
		r := r.(obj)
		action, ok := r["route"].(obj)
		if !ok {
			routes = append(routes, r)
			continue
		}
		idem := obj{}
		for k, v := range r {
			idem[k] = v
		}
		match := obj{}
		for k, v := range r["match"].(obj) {
			match[k] = v
		}
		headers, _ := match["headers"].([]any)
		match["headers"] = append(append([]any{}, headers...), obj{"name": ":method",
			"string_match": obj{"safe_regex": obj{"regex": "GET|HEAD|OPTIONS|PUT|DELETE|TRACE"}}})
		idem["match"] = match
		ia := obj{}
		for k, v := range action {
			ia[k] = v
		}
		ia["retry_policy"] = retry("connect-failure,refused-stream,reset,retriable-status-codes", true)
		idem["route"] = ia
		action["retry_policy"] = retry("connect-failure,refused-stream,reset-before-request", false)
		routes = append(routes, idem, r)
	}
	if len(routes) == len(vh["routes"].([]any)) {
		return nil, fmt.Errorf("resilience: no route to add retries to in %s", strings.TrimSpace(string(config[:min(len(config), 200)])))
	}
	vh["routes"] = routes
	return json.MarshalIndent(cfg, "", "  ")
}
