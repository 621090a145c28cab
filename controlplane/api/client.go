package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// Client talks to the API.
type Client struct {
	// BaseURL is the server address, e.g. "http://127.0.0.1:18001".
	BaseURL string
	// Token is the bearer token.
	Token string
	// HTTP is the client used (nil: http.DefaultClient).
	HTTP *http.Client
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	u := strings.TrimSuffix(c.BaseURL, "/") + Prefix + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the control plane at %s (is `wasmesh serve` running?): %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var er ErrorResponse
		if json.Unmarshal(data, &er) != nil || len(er.Errors) == 0 {
			er.Errors = []string{fmt.Sprintf("%s %s: %s", method, path, resp.Status)}
		}
		return &Error{StatusCode: resp.StatusCode, Errors: er.Errors}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func nsQuery(namespace string) url.Values {
	if namespace == "" {
		return nil
	}
	return url.Values{"namespace": {namespace}}
}

// Apply sends decoded documents; the server validates them all and stores them all, or none.
func (c *Client) Apply(ctx context.Context, docs []crd.Document, dryRun bool) (*ApplyResponse, error) {
	req := ApplyRequest{DryRun: dryRun}
	for _, d := range docs {
		b, err := crd.Marshal(d.Object)
		if err != nil {
			return nil, err
		}
		req.Documents = append(req.Documents, WireDocument{Source: d.Source, Index: d.Index, Line: d.Line, Lines: d.Lines, Object: b})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var resp ApplyResponse
	if err := c.do(ctx, http.MethodPost, "/apply", nil, bytes.NewReader(body), "application/json", &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// List returns the resources of a kind in a namespace ("" = default, "*" = all).
func (c *Client) List(ctx context.Context, kind crd.Kind, namespace string) ([]crd.Object, error) {
	var resp ListResponse
	if err := c.do(ctx, http.MethodGet, "/resources/"+strings.ToLower(string(kind)), nsQuery(namespace), nil, "", &resp); err != nil {
		return nil, err
	}
	out := make([]crd.Object, 0, len(resp.Items))
	for _, raw := range resp.Items {
		o, err := crd.Unmarshal(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Get returns one resource; errors.Is(err, ErrNotFound) when there is none.
func (c *Client) Get(ctx context.Context, key crd.Key) (crd.Object, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/resources/"+strings.ToLower(string(key.Kind))+"/"+url.PathEscape(key.Name), nsQuery(key.Namespace), nil, "", &raw); err != nil {
		return nil, err
	}
	return crd.Unmarshal(raw)
}

// Delete removes one resource; a Service still referenced is refused.
func (c *Client) Delete(ctx context.Context, key crd.Key) (*DeleteResponse, error) {
	var resp DeleteResponse
	if err := c.do(ctx, http.MethodDelete, "/resources/"+strings.ToLower(string(key.Kind))+"/"+url.PathEscape(key.Name), nsQuery(key.Namespace), nil, "", &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Status returns the connected Envoys and which of them run each resource.
func (c *Client) Status(ctx context.Context) (*StatusResponse, error) {
	var resp StatusResponse
	if err := c.do(ctx, http.MethodGet, "/status", nil, nil, "", &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// PutModule uploads a Wasm module and returns its SHA-256.
func (c *Client) PutModule(ctx context.Context, data []byte) (string, error) {
	return c.PutModuleFrom(ctx, bytes.NewReader(data))
}

// PutModuleFrom uploads the Wasm module r streams (the body is sent as it is read, never
// held whole) and returns its SHA-256.
func (c *Client) PutModuleFrom(ctx context.Context, r io.Reader) (string, error) {
	var resp ModuleResponse
	if err := c.do(ctx, http.MethodPut, "/modules", nil, r, "application/wasm", &resp); err != nil {
		return "", err
	}
	if resp.SHA256 == "" {
		return "", errors.New("put module: the server returned no sha256")
	}
	return resp.SHA256, nil
}

// Credential returns the xDS credential of a sidecar node id (for its bootstrap).
func (c *Client) Credential(ctx context.Context, nodeID string) (string, error) {
	body, err := json.Marshal(CredentialRequest{Node: nodeID})
	if err != nil {
		return "", err
	}
	var resp CredentialResponse
	if err := c.do(ctx, http.MethodPost, "/credentials", nil, bytes.NewReader(body), "application/json", &resp); err != nil {
		return "", err
	}
	if resp.Token == "" {
		return "", errors.New("credential: the server returned no token")
	}
	return resp.Token, nil
}
