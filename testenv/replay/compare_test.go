package replay

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Each assertion of the format fails when what was observed does not meet it, with a message
// naming the key, and passes when it does.
func TestCompareAssertions(t *testing.T) {
	got := Observed{
		Upstream: &ObservedUpstream{Cluster: "reviews|v1", Headers: map[string]string{"x-request-id": "6f1b1c9e-1f0a-4d7e-9a55-0c6f2f0c1a2b"}, Body: `{"id": 1}`},
		Status:   200,
		Headers:  map[string]string{"content-type": "application/grpc", "x-debug": "1"},
		Body:     "hello world",
		Metric: func(name string) (float64, bool, error) {
			if name == "requests" {
				return 3, true, nil
			}
			return 0, false, nil
		},
	}
	uuid := Match(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tests := []struct {
		name   string
		expect Expect
		want   []string // nil: passes
	}{
		{"absent header, present", Expect{Response: &ExpectResponse{Headers: map[string]Value{"x-debug": Absent()}}},
			[]string{`response.headers.x-debug: want absent, got "1"`}},
		{"absent header, absent", Expect{Response: &ExpectResponse{Headers: map[string]Value{"x-other": Absent()}}}, nil},
		{"regex header, no match", Expect{Response: &ExpectResponse{Headers: map[string]Value{"content-type": Match(`^text/`)}}},
			[]string{`response.headers.content-type: want a match of /^text//, got "application/grpc"`}},
		{"regex header, missing", Expect{UpstreamRequest: &ExpectUpstream{Headers: map[string]Value{"traceparent": Match(`^00-`)}}},
			[]string{`upstreamRequest.headers.traceparent: want a match of /^00-/, absent`}},
		{"regex header, match", Expect{UpstreamRequest: &ExpectUpstream{Headers: map[string]Value{"x-request-id": uuid}}}, nil},
		{"contains body, no", Expect{Response: &ExpectResponse{Body: ptr(Contain("mars"))}},
			[]string{`response.body: want a value containing "mars", got "hello world"`}},
		{"contains body, yes", Expect{Response: &ExpectResponse{Body: ptr(Contain("o w"))}}, nil},
		{"regex body, no", Expect{UpstreamRequest: &ExpectUpstream{Body: ptr(Match(`"token"`))}},
			[]string{`upstreamRequest.body: want a match of /"token"/, got "{\"id\": 1}"`}},
		{"regex body, yes", Expect{UpstreamRequest: &ExpectUpstream{Body: ptr(Match(`^\{"id"`))}}, nil},
		{"absent metric, present", Expect{Metrics: map[string]Metric{"requests": {Absent: true}}},
			[]string{`metrics.requests: want no such metric, got 3`}},
		{"absent metric, absent", Expect{Metrics: map[string]Metric{"other": {Absent: true}}}, nil},
		{"a header only Envoy's codec adds", Expect{Response: &ExpectResponse{Headers: map[string]Value{"server": Is("envoy")}}},
			[]string{`response.headers.server: want "envoy", absent`,
				"note: Envoy's HTTP/1 codec adds server on the wire, after the filters: the Envoy runner sees it, testenv never does (do not assert it)"}},
		{"reset upstream counts as none", Expect{NoUpstream: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := got
			if tt.name == "reset upstream counts as none" {
				u := *got.Upstream
				u.Reset = true
				o.Upstream = &u
			}
			require.Equal(t, tt.want, Compare(Case{Expect: tt.expect}, o))
		})
	}
	// A reset request does not meet an expected upstream request.
	u := *got.Upstream
	u.Reset = true
	o := got
	o.Upstream = &u
	require.Equal(t, []string{`upstreamRequest: want one, the request to cluster "reviews|v1" was reset on its way (its headers went upstream, then a filter answered locally)`},
		Compare(Case{Expect: Expect{UpstreamRequest: &ExpectUpstream{}}}, o))
	// A note explains a failure, and only a failure.
	o = got
	o.Note = ClusterNote("reviews|v9")
	require.Nil(t, Compare(Case{Expect: Expect{Response: &ExpectResponse{Status: 200}}}, o))
	require.Equal(t, []string{"response.status: want 503, got 200", ClusterNote("reviews|v9")},
		Compare(Case{Expect: Expect{Response: &ExpectResponse{Status: 503}}}, o))
}

func ptr[T any](v T) *T { return &v }
