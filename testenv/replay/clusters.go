package replay

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

var (
	clusterRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\|[a-z0-9][a-z0-9._-]*$`)
	// nameRE is a service or version name as docs/filters.md allows them.
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// Clusters returns every cluster the file's filters may route or dispatch to, each of which a
// runner gives its own upstream: the file's `clusters`, each "<service>|<version>" string in
// the file (configs, request headers, expected clusters and header values), and each request
// host crossed with each name-like string (lowercase letters, digits, ".", "_", "-") among the
// configs' keys and values, so that a canary config {"weights": {"stable": 90, "canary": 10}}
// yields reviews|stable and reviews|canary for requests to reviews. A route to a cluster not
// in the list is answered 503 by both runners (cluster not found).
func (f *File) Clusters() []string {
	set := map[string]bool{}
	for _, c := range f.ExtraClusters {
		set[c] = true
	}
	var names []string
	var walk func(v any, inConfig bool)
	walk = func(v any, inConfig bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, inConfig)
				walk(e, inConfig)
			}
		case []any:
			for _, e := range x {
				walk(e, inConfig)
			}
		case string:
			for _, part := range strings.Split(x, ",") {
				part = strings.TrimSpace(part)
				if clusterRE.MatchString(part) {
					set[part] = true
				}
				if inConfig && nameRE.MatchString(part) {
					names = append(names, part)
				}
			}
		}
	}
	for _, fl := range f.Filters {
		var v any
		if json.Unmarshal(fl.Config, &v) == nil {
			walk(v, true)
		} else {
			walk(string(fl.Config), true)
		}
	}
	for _, c := range f.Cases {
		for _, h := range c.Request.Headers {
			walk(h[1], false)
		}
		if u := c.Expect.UpstreamRequest; u != nil {
			walk(u.Cluster, false)
			for _, v := range u.Headers {
				if v.Exact != nil {
					walk(*v.Exact, false)
				}
			}
		}
		host := c.Request.Authority()
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		if host == "" {
			continue
		}
		for _, v := range names {
			set[host+"|"+v] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
