// Package observe owns what the control plane's UI shows about traffic: the request metrics
// of the sidecars it serves (scraped from their admin endpoints into bounded rings, or queried
// from a real Prometheus with PromQL), the service graph built from them and the stored
// resources, and the traces the sidecars' native Envoy tracers send in Zipkin v2 JSON (the last
// N traces, bounded). docs/observability.md describes what a user sees.
package observe
