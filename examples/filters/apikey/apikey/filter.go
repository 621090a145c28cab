package apikey

import (
	"crypto/subtle"

	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// Filter is a compiled configuration; it implements sdk.HTTPFilter.
type Filter struct {
	header, clientHeader string
	keys                 []Key
	exempt               *match.Matcher
}

var _ sdk.HTTPFilter = (*Filter)(nil)

// New compiles cfg (validated by ParseConfig).
func New(cfg Config) (*Filter, error) {
	f := &Filter{header: cfg.Header, clientHeader: cfg.ClientHeader, keys: cfg.Keys}
	if cfg.Exempt != nil {
		m, err := match.Compile(*cfg.Exempt)
		if err != nil {
			return nil, err
		}
		f.exempt = m
	}
	return f, nil
}

// Parse is ParseConfig followed by New: what sdk.NewPlugin calls at plugin start.
func Parse(data []byte) (*Filter, error) {
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// OnRequest checks the request's key.
func (f *Filter) OnRequest(r *sdk.Request) sdk.Decision {
	if f.exempt != nil && f.exempt.Matches(r) {
		return sdk.Continue()
	}
	got, ok := r.Headers.Get(f.header)
	if !ok || got == "" {
		return sdk.Reply(401, "missing API key\n", [2]string{"www-authenticate", "ApiKey header=" + f.header})
	}
	for _, k := range f.keys {
		// Constant time: the comparison does not leak how much of a key matched.
		if subtle.ConstantTimeCompare([]byte(got), []byte(k.Key)) == 1 {
			return sdk.Continue().RemoveHeader(f.header).SetHeader(f.clientHeader, k.Name)
		}
	}
	return sdk.Reply(403, "invalid API key\n")
}
