package observe

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Metric names the telemetry filter emits (docs/filters.md#telemetry), as Prometheus sees them.
const (
	MetricRequests        = "wasmesh_requests_total"
	MetricDurationBuckets = "wasmesh_request_duration_ms_bucket"
)

// promSample is one line of Prometheus text: a metric name, its labels, a value.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm reads the wasmesh request metrics from Prometheus text exposition (Envoy admin
// /stats/prometheus); other lines are skipped. Lines longer than maxLine are an error.
func parseProm(r io.Reader, each func(promSample)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, MetricRequests+"{") && !strings.HasPrefix(line, MetricDurationBuckets+"{") {
			continue
		}
		open := strings.IndexByte(line, '{')
		end := strings.LastIndexByte(line, '}')
		if end < open {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels, ok := parseLabels(line[open+1 : end])
		if !ok {
			continue
		}
		each(promSample{name: line[:open], labels: labels, value: v})
	}
	return sc.Err()
}

// parseLabels reads `a="x",b="y"` (Prometheus escapes \\, \" and \n in values).
func parseLabels(s string) (map[string]string, bool) {
	out := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, false
		}
		name := strings.TrimSpace(s[:eq])
		var b strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if s[i] == 'n' {
					b.WriteByte('\n')
					continue
				}
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, false
		}
		out[name] = b.String()
		s = strings.TrimPrefix(s[i+1:], ",")
	}
	return out, true
}
