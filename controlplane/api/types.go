package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
)

// Prefix is the path prefix of every API endpoint.
const Prefix = "/api/v1"

// ErrNotFound is returned (wrapped) for a resource or module the server does not hold.
var ErrNotFound = store.ErrNotFound

// WireDocument is one document as it travels in an apply request (crd.Document is the decoded
// one): the resource as JSON and where it came from, so
// the server can name the file, document and line in its messages.
type WireDocument struct {
	Source string          `json:"source"`
	Index  int             `json:"index"`
	Line   int             `json:"line,omitempty"`
	Lines  map[string]int  `json:"lines,omitempty"`
	Object json.RawMessage `json:"object"`
}

// ApplyRequest is the body of POST /api/v1/apply.
type ApplyRequest struct {
	Documents []WireDocument `json:"documents"`
	// DryRun validates without storing.
	DryRun bool `json:"dryRun,omitempty"`
}

// ApplyResponse is the answer to a successful apply: one result per document, in order.
type ApplyResponse struct {
	Results  []store.Result `json:"results"`
	Revision uint64         `json:"revision"`
	DryRun   bool           `json:"dryRun,omitempty"`
}

// ListResponse is the answer to GET /api/v1/resources/{kind}.
type ListResponse struct {
	Revision uint64            `json:"revision"`
	Items    []json.RawMessage `json:"items"`
}

// DeleteResponse is the answer to DELETE /api/v1/resources/{kind}/{name}.
type DeleteResponse struct {
	Result store.Result `json:"result"`
}

// ModuleResponse is the answer to PUT /api/v1/modules.
type ModuleResponse struct {
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// CredentialRequest is the body of POST /api/v1/credentials.
type CredentialRequest struct {
	// Node is the sidecar's node id.
	Node string `json:"node"`
}

// CredentialResponse is the answer to POST /api/v1/credentials: the node's xDS credential,
// which its bootstrap sends as `authorization: Bearer <token>` (docs/envoy.md).
type CredentialResponse struct {
	Node  string `json:"node"`
	Token string `json:"token"`
}

// ErrorResponse is the body of every non-2xx answer: one message per problem.
type ErrorResponse struct {
	Errors []string `json:"errors"`
}

// StatusResponse is the answer to GET /api/v1/status.
type StatusResponse struct {
	// Revision is the store's revision.
	Revision uint64 `json:"revision"`
	// Nodes are the Envoys the xDS server knows, sorted by id.
	Nodes []SidecarStatus `json:"nodes"`
	// Resources are the stored resources with the nodes that run them, in key order.
	Resources []ResourceStatus `json:"resources"`
	// Services are, per Service some caller's sidecar reports on, its ejected endpoints and
	// circuit-breaker overflows, read from the sidecars' admin (Service order).
	Services []ServiceHealth `json:"services,omitempty"`
	// StatsErrors name the sidecars whose admin could not be read for Services.
	StatsErrors []string `json:"statsErrors,omitempty"`
}

// SidecarStatus is one sidecar (Envoy) as the xDS server sees it (crd.NodeStatus is one
// sidecar's state for one resource).
type SidecarStatus struct {
	ID        string `json:"id"`
	Service   string `json:"service,omitempty"`
	Version   string `json:"version,omitempty"`
	Connected bool   `json:"connected"`
	// AdminAddress is the node's Envoy admin (host:port) from its node metadata.
	AdminAddress string `json:"adminAddress,omitempty"`
	// PeerAddress is where the node's xDS stream comes from (host:port).
	PeerAddress string `json:"peerAddress,omitempty"`
	// Types is per xDS type (short name: listeners, routes, clusters, endpoints,
	// extension_configs).
	Types []TypeStatus `json:"types"`
	// LastSeen is when the node last sent a request (or disconnected).
	LastSeen *time.Time `json:"lastSeen,omitempty"`
	// Revision is the store revision the node's current configuration was built from.
	Revision uint64 `json:"revision,omitempty"`
	// Error says why the control plane could not build the node's configuration (e.g. its
	// node metadata holds an unusable address); the node keeps its previous one.
	Error string `json:"error,omitempty"`
	// Plugins are the node's WasmPlugins that crashed or were reloaded, from the node's own
	// stats (read every few seconds from its admin).
	Plugins []PluginHealth `json:"plugins,omitempty"`
	// Identity is the SPIFFE ID of the node's current certificate (served over SDS), with
	// its expiry and when the control plane rotates it ("" without a CA).
	Identity   string     `json:"identity,omitempty"`
	CertExpiry *time.Time `json:"certExpiry,omitempty"`
	CertRotate *time.Time `json:"certRotate,omitempty"`
	// InboundMode is the transport mode of the node's inbound listener (STRICT, PERMISSIVE,
	// DISABLE).
	InboundMode string `json:"inboundMode,omitempty"`
	// Modules are the node's Wasm filter configs with the sha256 of the module each runs
	// (its current configuration; Types say whether the node acknowledged it).
	Modules []ModuleStatus `json:"modules,omitempty"`
}

// ModuleStatus is one Wasm filter config of a node and its module's sha256.
type ModuleStatus struct {
	Config string `json:"config"`
	RootID string `json:"rootId,omitempty"`
	SHA256 string `json:"sha256"`
}

// PluginHealth is what a sidecar's stats say about one of its WasmPlugins.
type PluginHealth struct {
	// Plugin is the plugin's ECDS name (wasmesh.plugin.<name>).
	Plugin string `json:"plugin"`
	// Panics the sdk adapter recovered (each failed one request).
	Panics int64 `json:"panics,omitempty"`
	// Reloads, ReloadFailures, ReloadBackoffs are Envoy's FAIL_RELOAD counters.
	Reloads        int64  `json:"reloads,omitempty"`
	ReloadFailures int64  `json:"reloadFailures,omitempty"`
	ReloadBackoffs int64  `json:"reloadBackoffs,omitempty"`
	Summary        string `json:"summary"`
}

// TypeStatus is the state of one xDS type on one node.
type TypeStatus struct {
	Type string `json:"type"`
	// Acked is the last version the node acknowledged.
	Acked string `json:"acked,omitempty"`
	// Sent is the last version pushed; Pending when it is not acknowledged yet.
	Sent    string `json:"sent,omitempty"`
	Pending bool   `json:"pending,omitempty"`
	// NACK is the error detail of the node's last rejection of this type (cleared by a later
	// ACK), with the version it rejected.
	NACK        string `json:"nack,omitempty"`
	NACKVersion string `json:"nackVersion,omitempty"`
}

// Current reports whether the node acknowledged the version last sent of this type: nothing
// pending, and an ACK of the same version as the last push.
func (t TypeStatus) Current() bool {
	return !t.Pending && t.Acked != "" && t.Acked == t.Sent
}

// ResourceStatus tells which nodes run one resource.
type ResourceStatus struct {
	Key        crd.Key          `json:"key"`
	Generation int64            `json:"generation"`
	Nodes      []crd.NodeStatus `json:"nodes,omitempty"`
}

// Error is a non-2xx answer of the API.
type Error struct {
	StatusCode int
	Errors     []string
}

func (e *Error) Error() string {
	if len(e.Errors) == 0 {
		return http.StatusText(e.StatusCode)
	}
	return strings.Join(e.Errors, "\n")
}

// Is makes errors.Is(err, ErrNotFound) hold for a 404 answer.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Messages splits a (joined) error into its messages, one per problem.
func Messages(err error) []string {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Errors
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking the join
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, Messages(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
