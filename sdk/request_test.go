package sdk

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRequestFromHeaders(t *testing.T) {
	r := RequestFromHeaders([][2]string{{":method", "GET"}, {":path", "/a/b?x=1&y=2"}, {":authority", "reviews:9080"}, {":scheme", "http"},
		{"x-user", "jason"}, {"cookie", "a=1; session=\"abc\"; b=2"}})
	require.Equal(t, "GET", r.Method)
	require.Equal(t, "reviews", r.Service())
	require.Equal(t, "/a/b", r.PathOnly())
	require.Equal(t, "x=1&y=2", r.RawQuery())
	require.Equal(t, Headers{{"x-user", "jason"}, {"cookie", "a=1; session=\"abc\"; b=2"}}, r.Headers)
	v, ok := r.Cookie("session")
	require.True(t, ok)
	require.Equal(t, "abc", v)
	_, ok = r.Cookie("sess")
	require.False(t, ok)
	require.Equal(t, "jason", r.Headers.Value("x-user"))

	r = RequestFromHeaders([][2]string{{":path", "/"}, {"host", "ratings"}})
	require.Equal(t, "ratings", r.Service())
}

func TestServiceOf(t *testing.T) {
	for in, want := range map[string]string{"reviews": "reviews", "reviews:9080": "reviews", "[::1]:80": "[::1]", "": ""} {
		require.Equal(t, want, ServiceOf(in), in)
	}
}

func TestDecision(t *testing.T) {
	d := Route("reviews", "v2").SetHeader("x-a", "1").RemoveHeader("x-b").After(time.Second)
	require.Equal(t, "reviews|v2", d.Cluster())
	v, ok := d.Header("x-a")
	require.True(t, ok)
	require.Equal(t, "1", v)
	require.Equal(t, time.Second, d.Delay())
	_, reply := d.IsReply()
	require.False(t, reply)

	r := Reply(401, "no\n", [2]string{"www-authenticate", "ApiKey"}).SetHeader("x-c", "3")
	status, reply := r.IsReply()
	require.True(t, reply)
	require.Equal(t, 401, status)
	v, _ = r.Header("x-c")
	require.Equal(t, "3", v)
}

// keyCheck is a tiny HTTPFilter: requests need x-key: open.
type keyCheck struct{}

func (keyCheck) OnRequest(r *Request) Decision {
	if r.Headers.Value("x-key") != "open" {
		return Reply(403, "closed\n")
	}
	return Route(r.Service(), "v2")
}

func ExampleHTTPFilter() {
	var f HTTPFilter = keyCheck{}
	for _, key := range []string{"open", "guess"} {
		req := RequestFromHeaders([][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "reviews"}, {"x-key", key}})
		d := f.OnRequest(&req)
		if status, ok := d.IsReply(); ok {
			fmt.Println(key, "→ local reply", status)
		} else {
			fmt.Println(key, "→ routed to", d.Cluster())
		}
	}
	// In the filter's main package: proxywasm.SetPluginContext(sdk.NewPlugin("keycheck", parse))
	// Output:
	// open → routed to reviews|v2
	// guess → local reply 403
}
