package replay

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

var (
	clusterRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\|[a-z0-9][a-z0-9._-]*$`)
	versionRE = regexp.MustCompile(`^v[0-9][a-z0-9._-]*$`)
)

// Clusters guesses every cluster the filters may route or dispatch to: each
// "<service>|<version>" string in the file (configs and cases), and each request host crossed
// with each version-like string ("v2") in the configs. A runner gives each its own upstream.
func (f *File) Clusters() []string {
	set := map[string]bool{}
	var versions []string
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
				if inConfig && versionRE.MatchString(part) {
					versions = append(versions, part)
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
				walk(v, false)
			}
		}
		host := c.Request.Authority()
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		if host == "" {
			continue
		}
		for _, v := range versions {
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
