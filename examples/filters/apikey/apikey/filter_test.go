package apikey

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/sdk"
)

const testConfig = `{"keys":[{"name":"team-a","key":"s3cr3t-a1"},{"name":"team-b","key":"s3cr3t-b2"}],"exempt":{"path":{"prefix":"/healthz"}}}`

func TestOnRequest(t *testing.T) {
	f, err := Parse([]byte(testConfig))
	require.NoError(t, err)
	tests := []struct {
		name       string
		req        sdk.Request
		wantStatus int // 0: continues
		wantClient string
	}{
		{"valid key", sdk.Request{Path: "/", Headers: sdk.Headers{{"x-api-key", "s3cr3t-b2"}}}, 0, "team-b"},
		{"missing key", sdk.Request{Path: "/"}, 401, ""},
		{"empty key", sdk.Request{Path: "/", Headers: sdk.Headers{{"x-api-key", ""}}}, 401, ""},
		{"wrong key", sdk.Request{Path: "/", Headers: sdk.Headers{{"x-api-key", "s3cr3t-a"}}}, 403, ""},
		{"exempt path", sdk.Request{Path: "/healthz/live"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.OnRequest(&tt.req)
			status, reply := d.IsReply()
			if tt.wantStatus != 0 {
				require.True(t, reply)
				require.Equal(t, tt.wantStatus, status)
				return
			}
			require.False(t, reply)
			client, ok := d.Header("x-api-client")
			require.Equal(t, tt.wantClient != "", ok)
			require.Equal(t, tt.wantClient, client)
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{testConfig, ""},
		{`{"header":"authorization","keys":[{"name":"a","key":"12345678"}],"clientHeader":"x-client"}`, ""},
		{``, "keys: required"},
		{`{"keys":[]}`, "keys: want at least one key"},
		{`{"keys":[{"name":"a","key":"short"},{"key":"12345678"},{"name":"c","key":"12345678"}],"header":"X-Key","extra":1}`,
			"header: header name \"X-Key\" must be lowercase\n" +
				"keys[0].key: required, at least 8 characters\n" +
				"keys[1].name: required, non-empty\n" +
				"keys[2].key: duplicate key (also used by an earlier entry)\n" +
				"extra: unknown key"},
		{`{"keys":[{"name":"a","key":"12345678"}],"exempt":{"path":{"regex":"[a"}}}`, "exempt.path.regex: invalid regex \"[a\": missing closing ]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.in))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			out, err := json.Marshal(c)
			require.NoError(t, err)
			c2, err := ParseConfig(out)
			require.NoError(t, err)
			require.Equal(t, c, c2)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if _, err := New(c); err != nil {
			t.Fatalf("a parsed config does not compile: %v", err)
		}
	})
}
