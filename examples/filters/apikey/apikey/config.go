package apikey

import (
	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// Defaults.
const (
	DefaultHeader       = "x-api-key"
	DefaultClientHeader = "x-api-client"
)

// Config is the filter's configuration.
type Config struct {
	Header       string      `json:"header,omitempty"`       // default x-api-key
	Keys         []Key       `json:"keys"`                   // at least one
	Exempt       *match.Spec `json:"exempt,omitempty"`       // requests that need no key
	ClientHeader string      `json:"clientHeader,omitempty"` // default x-api-client
}

// Key is one accepted key and the client it identifies.
type Key struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// ParseConfig parses and validates the configuration strictly; every problem is reported with
// its JSON path, joined with errors.Join.
func ParseConfig(data []byte) (Config, error) {
	var errs config.Errors
	cfg := Config{Header: DefaultHeader, ClientHeader: DefaultClientHeader}
	root, ok := config.Parse(data, &errs)
	if !ok {
		return cfg, errs.Err()
	}
	for _, h := range []struct {
		key string
		dst *string
	}{{"header", &cfg.Header}, {"clientHeader", &cfg.ClientHeader}} {
		if v, ok := root.Get(h.key); ok {
			if s, ok := v.String(); ok {
				*h.dst = s
				if err := match.CheckHeaderName(s); err != nil {
					v.Errorf("%v", err)
				}
			}
		}
	}
	if keys, ok := root.Array("keys"); ok {
		seen := map[string]bool{}
		for _, kv := range keys {
			o, ok := kv.Object()
			if !ok {
				continue
			}
			var k Key
			if !o.String("name", &k.Name) || k.Name == "" {
				o.ErrorfAt("name", "required, non-empty")
			}
			if !o.String("key", &k.Key) || len(k.Key) < 8 {
				o.ErrorfAt("key", "required, at least 8 characters")
			} else if seen[k.Key] {
				o.ErrorfAt("key", "duplicate key (also used by an earlier entry)")
			}
			seen[k.Key] = true
			o.Close()
			cfg.Keys = append(cfg.Keys, k)
		}
		if len(keys) == 0 {
			root.ErrorfAt("keys", "want at least one key")
		}
	} else if !root.Has("keys") {
		root.ErrorfAt("keys", "required")
	}
	if v, ok := root.Get("exempt"); ok {
		s := match.Decode(v)
		cfg.Exempt = &s
	}
	root.Close()
	return cfg, errs.Err()
}
