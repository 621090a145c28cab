package authz

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
		{name: "no policies", in: `{"services":{"a":{}}}`},
		{name: "allow", in: `{"policies":[{"name":"p","action":"ALLOW","rules":[{"principals":[{"exact":"spiffe://td/ns/default/sa/a"}],"match":{"method":"GET","path":{"prefix":"/x"}}}]}]}`},
		{name: "every problem", in: `{"policies":[{"action":"allow","rules":[{"principals":[{},{"exact":"a","prefix":"b"},{"exact":"http://x"}],"match":{"path":{"regex":"("}}}]},{"name":"","action":"DENY","rules":[]},{"name":"q"}]}`,
			wantErr: "policies[0]: name: required\n" +
				"policies[0].action: want ALLOW or DENY, got \"allow\"\n" +
				"policies[0].rules[0].principals[0]: want exactly one of exact, prefix\n" +
				"policies[0].rules[0].principals[1]: want exactly one of exact, prefix\n" +
				"policies[0].rules[0].principals[2]: a principal is a SPIFFE ID (spiffe://...)\n" +
				"policies[0].rules[0].match.path.regex: invalid regex \"(\": missing closing )\n" +
				"policies[1]: name: must not be empty\n" +
				"policies[1]: rules: at least one rule is required\n" +
				"policies[2]: action: required (ALLOW or DENY)\n" +
				"policies[2]: rules: at least one rule is required"},
		{name: "unknown key", in: `{"services":{"a":{"policy":[]}}}`, wantErr: "services.a.policy: unknown key"},
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
