package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/internal/yamlstrict"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

// The CLI (`wasmesh apply -f`: crd.ReadPaths), the server (the resource of an apply request,
// decoded by Server.documents) and replay files (replay.Parse) decode with one walker: a
// problem at the same place of the same kind reads the same, on the same line. A syntax error
// is the same input for all three; the schema problems need each schema's own field names, so
// the resource and the replay file hold the same problem (the same key, value or repetition)
// on line 5.
func TestDecodeProblemsReadTheSameEverywhere(t *testing.T) {
	const indentation = head + `kind: TrafficRoute
metadata:
  name: reviews
 spec:
  service: reviews
`
	tests := []struct {
		name           string
		resource       string
		replayFile     string
		line           int
		path, replayAt string // the field path in the resource and in the replay file
		want           string // the problem as all three name it
	}{
		{
			name:     "wrong indentation on line 5",
			resource: indentation, replayFile: indentation,
			line: 5,
			want: "invalid YAML: did not find expected key",
		},
		{
			name: "unknown field",
			resource: head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  rules: [{name: a, match: {mehtod: GET}, destination: {version: v2}}]
  service: reviews
`,
			replayFile: "filters: [{wasm: a.wasm}]\ncases:\n- name: a\n  request:\n    mehtod: GET\n",
			line:       5, path: "spec.rules[0].match.mehtod", replayAt: "cases[0].request.mehtod",
			want: `unknown field (did you mean "method"?)`,
		},
		{
			name: "type error",
			resource: head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  rules: [{name: [a], destination: {version: v2}}]
  service: reviews
`,
			replayFile: "filters: [{wasm: a.wasm}]\ncases:\n- request: {}\n  upstream: {}\n  name: [a]\n",
			line:       5, path: "spec.rules[0].name", replayAt: "cases[0].name",
			want: "expected a string, got a list",
		},
		{
			name: "duplicate key",
			resource: head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  rules: [{name: a, name: b, destination: {version: v2}}]
  service: reviews
`,
			replayFile: "filters: [{wasm: a.wasm}]\ncases:\n- name: a\n  request: {}\n  name: b\n",
			line:       5, path: "spec.rules[0].name", replayAt: "cases[0].name",
			want: "duplicate field",
		},
	}
	pipeline := admission.New(admission.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "a.yaml")
			require.NoError(t, os.WriteFile(file, []byte(tt.resource), 0o644))

			// The CLI.
			_, err := crd.ReadPaths(nil, file)
			require.Error(t, err)
			cli := Messages(err)
			var de *crd.DocError
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.line, de.Line, "%v", err)
			var fe *crd.FieldError
			if tt.path == "" {
				require.Equal(t, tt.want, de.Err.Error())
			} else {
				require.ErrorAs(t, de, &fe)
				require.Equal(t, tt.path, fe.Path)
				require.Equal(t, tt.want, fe.Err.Error())
			}

			// The server's admission, given the resource as written: every message as the CLI's.
			err = pipeline.Check(context.Background(), []admission.Input{{Document: crd.Document{Source: file, Index: 1}, JSON: []byte(tt.resource)}}, crd.NewSet())
			var refusal *admission.Refusal
			require.ErrorAs(t, err, &refusal)
			require.Equal(t, admission.StageDecode, refusal.Stage)
			require.Equal(t, cli, Messages(refusal.Err))
			for _, m := range cli {
				require.NotContains(t, m, "json")
			}

			// Replay.
			_, err = replay.Parse(file, []byte(tt.replayFile))
			var re *replay.Error
			require.ErrorAs(t, err, &re)
			require.Equal(t, replay.Error{File: file, Line: tt.line, Key: tt.replayAt}, replay.Error{File: re.File, Line: re.Line, Key: re.Key}, "%v", err)
			require.Equal(t, tt.want, re.Err.Error())
		})
	}
}

// Over HTTP a resource travels as JSON, with the lines of its file when `wasmesh apply` sends
// it (a resource the CLI refuses is never sent, so another client's JSON stands in). The
// problems read as the CLI's, and name the lines the client sent.
func TestApplyJSONProblemsReadAsTheCLIs(t *testing.T) {
	e := newEnv(t)
	const resource = head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  rules: [{name: a, match: {mehtod: GET}, destination: {version: v2}}]
  servce: reviews
  rules: []
`
	file := filepath.Join(t.TempDir(), "a.yaml")
	require.NoError(t, os.WriteFile(file, []byte(resource), 0o644))
	_, err := crd.ReadPaths(nil, file)
	require.Error(t, err)
	cli := Messages(err)
	require.Equal(t, []string{
		file + `:5: document 1 (TrafficRoute "reviews"): spec.rules[0].match.mehtod: unknown field (did you mean "method"?)`,
		file + `:6: document 1 (TrafficRoute "reviews"): spec.servce: unknown field (did you mean "service"?)`,
		file + `:7: document 1 (TrafficRoute "reviews"): spec.rules: duplicate field`,
	}, cli)

	roots, err := yamlstrict.Documents([]byte(resource))
	require.NoError(t, err)
	object, ok := yamlstrict.New(0).JSON(roots[0], "")
	require.True(t, ok)
	body, err := json.Marshal(ApplyRequest{Documents: []WireDocument{{
		Source: file, Index: 1, Line: 1, Object: object,
		Lines: map[string]int{"spec.rules[0].match.mehtod": 5, "spec.servce": 6, "spec.rules": 7},
	}}})
	require.NoError(t, err)
	err = e.client.do(context.Background(), http.MethodPost, "/apply", nil, strings.NewReader(string(body)), "application/json", nil)
	var ae *Error
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, cli, ae.Errors)
}
