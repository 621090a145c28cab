package router

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/filters/internal/configtest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty", in: ``, check: func(t *testing.T, c Config) { require.Empty(t, c.Rules); require.Nil(t, c.Services) }},
		{name: "empty object", in: `{}`},
		{name: "policy", in: `{"rules":[{"name":"jason","match":{"headers":[{"name":"x-user","exact":"jason"}]},"destination":{"version":"v2"},
			"requestHeaders":{"add":{"x-route":"jason"},"remove":["x-debug"]},"rewrite":{"pathPrefix":"/v2/"}}],"defaultVersion":"v1"}`,
			check: func(t *testing.T, c Config) {
				require.Len(t, c.Rules, 1)
				require.Equal(t, "v2", c.Rules[0].Destination.Version)
				require.Equal(t, "v1", c.DefaultVersion)
				require.Equal(t, map[string]string{"x-route": "jason"}, c.Rules[0].RequestHeaders.Add)
			}},
		{name: "services", in: `{"services":{"reviews":{"rules":[{"match":{"path":{"prefix":"/api/"}},"destination":{"version":"v2"}}]},"ratings":{}}}`,
			check: func(t *testing.T, c Config) { require.Len(t, c.Services, 2); require.Empty(t, c.Rules) }},
		{name: "not json", in: `{"rules":`, wantErr: "configuration is not valid JSON"},
		{name: "not an object", in: `[1]`, wantErr: "want an object, got an array"},
		{name: "unknown key", in: `{"rulez":[]}`, wantErr: "rulez: unknown key"},
		{name: "services mixed", in: `{"services":{},"rules":[]}`, wantErr: `rules: unknown key (a config with "services" holds nothing else)`},
		{name: "bad regex", in: `{"services":{"reviews":{"rules":[{},{},{"match":{"headers":[{"name":"x","regex":"(a"}]}}]}}}`,
			wantErr: "services.reviews.rules[2].match.headers[0].regex: invalid regex \"(a\": missing closing )"},
		{name: "every problem", in: `{"rules":[{"match":{"path":{"prefix":"api","exact":"/x"},"method":"get"},"destination":{},"rewrite":{"pathPrefix":"v2"}}],"defaultVersion":5}`,
			wantErr: "rules[0].match.path.prefix: must start with /, got \"api\"\n" +
				"rules[0].match.path: want exactly one of exact, prefix, regex\n" +
				"rules[0].match.method: want an uppercase HTTP method such as GET, got \"get\"\n" +
				"rules[0].destination: version: required\n" +
				"rules[0].rewrite.pathPrefix: must start with /, got \"v2\"\n" +
				"defaultVersion: want a string, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configtest.Parse(t, ParseConfig, tt.in, tt.wantErr)
			if tt.check != nil && tt.wantErr == "" {
				tt.check(t, c)
			}
		})
	}
}

func TestParseConfigMoreErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{`{"rules":[{"requestHeaders":{"add":{"X-Up":"1",":path":"/"},"remove":["x-wasmesh-cluster"]}}]}`,
			"rules[0].requestHeaders.add.X-Up: header name \"X-Up\" must be lowercase\n" +
				"rules[0].requestHeaders.add.:path: pseudo-headers cannot be edited\n" +
				"rules[0].requestHeaders.remove[0]: x-wasmesh-cluster is set by destination, not by header edits"},
		{`{"rules":[{"destination":{"version":"v|2"}}]}`, "rules[0].destination.version: must not contain '|', ':', ';', '=', ',', quotes or spaces"},
		{`{"services":{"a|b":{}}}`, "services.a|b: service name: must not contain '|', ':', ';', '=', ',', quotes or spaces"},
		{`{"rules":[{"match":{"headers":[{"name":"x","present":false}]}}]}`, "rules[0].match.headers[0].present: want true or no key\nrules[0].match.headers[0]: want exactly one of exact, prefix, regex, present, absent"},
		{`{"rules":[{"match":{"query":[{"exact":"1"}]}}]}`, "rules[0].match.query[0]: name: required"},
		{`{"rules":{}}`, "rules: want an array, got an object"},
		{`{"rules":[],"rules":[]}`, "rules: duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.in))
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	configtest.Fuzz(f, ParseConfig, New, []byte(`{"rules":[{"match":{"path":{"regex":"(a"}}}]}`))
}
