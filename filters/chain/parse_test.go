package chain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		stages  []string
		wantErr string
	}{
		{
			name:   "each stage's config is handed on as written",
			in:     `{"stages":[{"filter":"router","config":{"rules" : [ {"match":{"method":"POST"},"destination":{"service":"reviews","version":"v3"}} ]}},{"filter":"telemetry"}]}`,
			stages: []string{"router", "telemetry"},
		},
		{
			name:    "a stage's problems under stages[i].config",
			in:      `{"stages":[{"filter":"telemetry"},{"filter":"fault","config":{"rules":[{"abort":{"httpStatus":"x"}}],"extra":1}}]}`,
			wantErr: "stages[1].config.rules[0].abort.httpStatus: want a number, got a string\nstages[1].config.extra: unknown key",
		},
		{
			name:    "a config that is not an object",
			in:      `{"stages":[{"filter":"canary","config":[1, 2]}]}`,
			wantErr: "stages[0].config: want an object, got an array",
		},
		{
			name:   "a null config is an empty one",
			in:     `{"stages":[{"filter":"telemetry","config":null}]}`,
			stages: []string{"telemetry"},
		},
		{
			name:    "not JSON",
			in:      `{"stages":[{"filter":"telemetry","config":{]}`,
			wantErr: "configuration is not valid JSON",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stages, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, s := range stages {
				names = append(names, s.Name)
			}
			require.Equal(t, tt.stages, names)
		})
	}
}
