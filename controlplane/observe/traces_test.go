package observe

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func spansJSON(trace string, n int, svc string) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`{"traceId":%q,"id":"%016x","name":"op","kind":"SERVER","timestamp":%d,"duration":1000,
			"localEndpoint":{"serviceName":%q},"tags":{"node_id":"%s.v1.0","http.status_code":"200"}}`, trace, i+1, 1700000000000000+i*10, svc, svc))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestTracesIngestAndList(t *testing.T) {
	tr := NewTraces(TracesConfig{MaxTraces: 3, MaxSpans: 4})
	n, err := tr.Ingest(strings.NewReader(spansJSON("aa01", 2, "frontend")))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = tr.Ingest(strings.NewReader(spansJSON("AA01", 1, "reviews")))
	require.NoError(t, err)
	_, err = tr.Ingest(strings.NewReader(`[{"traceId":"bb","id":"01","name":"x","tags":{"error":"true"},"localEndpoint":{"serviceName":"ratings"}}]`))
	require.NoError(t, err)

	list := tr.List(Filter{})
	require.Len(t, list, 2)
	byID := map[string]TraceSummary{}
	for _, s := range list {
		byID[s.TraceID] = s
	}
	require.Equal(t, []string{"frontend", "reviews"}, byID["aa01"].Services, "trace ids are case-insensitive hex")
	require.Equal(t, []string{"frontend.v1.0", "reviews.v1.0"}, byID["aa01"].Sidecars)
	require.Equal(t, 3, byID["aa01"].Spans)
	require.True(t, byID["bb"].Error)
	require.Len(t, tr.List(Filter{Services: []string{"frontend", "reviews"}}), 1)
	require.Empty(t, tr.List(Filter{Services: []string{"frontend", "ratings"}}))

	spans, ok := tr.Get("AA01")
	require.True(t, ok)
	require.Len(t, spans, 3)
	require.LessOrEqual(t, spans[0].Timestamp, spans[1].Timestamp)

	// Bounds: spans per trace, then traces (the one without news for longest goes).
	_, err = tr.Ingest(strings.NewReader(spansJSON("aa01", 3, "ratings")))
	require.NoError(t, err)
	require.Equal(t, TracesStats{Traces: 2, Spans: 5, Dropped: 2}, tr.Stats())
	for _, id := range []string{"c1", "c2"} {
		_, err = tr.Ingest(strings.NewReader(spansJSON(id, 1, "x")))
		require.NoError(t, err)
	}
	_, ok = tr.Get("bb")
	require.False(t, ok, "the oldest trace was evicted")
	require.Equal(t, 3, tr.Stats().Traces)
}

func TestTracesIngestRefuses(t *testing.T) {
	tr := NewTraces(TracesConfig{})
	_, err := tr.Ingest(strings.NewReader(`{"not":"an array"}`))
	require.ErrorContains(t, err, "decode spans (a JSON array of Zipkin v2 spans): json: cannot unmarshal object")
	n, err := tr.Ingest(strings.NewReader(`[{"traceId":"zz","id":"1"},{"traceId":"ab","id":"12"},{"id":"1"}]`))
	require.Equal(t, 1, n, "the valid span is kept")
	require.EqualError(t, err, "[0]: traceId and id must be hex strings of at most 32 characters\n[2]: traceId and id must be hex strings of at most 32 characters")
	long := strings.Repeat("x", 5000)
	_, err = tr.Ingest(strings.NewReader(`[{"traceId":"ab","id":"13","name":"` + long + `"}]`))
	require.NoError(t, err)
	spans, _ := tr.Get("ab")
	require.Len(t, spans[1].Name, 512, "long strings are cut")
}
