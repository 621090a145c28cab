package canary

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/configtest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "empty", in: ``},
		{name: "documented", in: `{"weights":{"v1":90,"v2":10},"overrides":[{"match":{"headers":[{"name":"x-canary","exact":"always"}]},"version":"v2"}],"sticky":{"header":"x-user"},"responseHeader":"x-wasmesh-version"}`},
		{name: "cookie", in: `{"services":{"reviews":{"weights":{"v1":100},"sticky":{"cookie":"session"}}}}`},
		{name: "overrides only", in: `{"overrides":[{"match":{},"version":"v3"}]}`},
		{name: "sum", in: `{"weights":{"v1":90,"v2":20}}`, wantErr: "weights: weights sum to 110, want 100"},
		{name: "no versions", in: `{"weights":{}}`, wantErr: "weights: want at least one version"},
		{name: "fraction", in: `{"weights":{"v1":90.5,"v2":9.5}}`, wantErr: "weights.v1: want an integer, got 90.5\nweights.v2: want an integer, got 9.5"},
		{name: "range", in: `{"weights":{"v1":120,"v2":-20}}`, wantErr: "weights.v1: weight 120 out of range 0..100\nweights.v2: weight -20 out of range 0..100"},
		{name: "override unknown version", in: `{"services":{"reviews":{"weights":{"v1":100},"overrides":[{"version":"v9"}]}}}`,
			wantErr: `services.reviews.overrides[0].version: version "v9" is not in weights ([v1])`},
		{name: "sticky both", in: `{"sticky":{"header":"x-user","cookie":"c"}}`, wantErr: "sticky: want exactly one of header, cookie"},
		{name: "sticky typo", in: `{"sticky":{"headr":"x-user"}}`, wantErr: "sticky: want exactly one of header, cookie\nsticky.headr: unknown key"},
		{name: "bad regex", in: `{"weights":{"v1":100},"overrides":[{"match":{"path":{"regex":"a)"}},"version":"v1"}]}`,
			wantErr: "overrides[0].match.path.regex: invalid regex \"a)\": unexpected )"},
		{name: "response header", in: `{"responseHeader":"X-Version"}`, wantErr: `responseHeader: header name "X-Version" must be lowercase`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configtest.Parse(t, ParseConfig, tt.in, tt.wantErr)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	configtest.Fuzz(f, ParseConfig, New)
}
