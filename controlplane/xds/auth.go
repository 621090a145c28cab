package xds

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc/metadata"
)

// MetadataKey is the gRPC metadata key a sidecar sends its credential under, as
// `Bearer <credential>` (the bootstrap's ads_config grpc_services initial_metadata).
const MetadataKey = "authorization"

// KeyFile is the file in the control plane's data directory holding the key sidecar
// credentials are derived from.
const KeyFile = "xds-key"

// credentialPrefix versions the credential format.
const credentialPrefix = "wxds1."

// ErrUnauthenticated is what a stream without a valid credential is refused with (wrapped).
var ErrUnauthenticated = errors.New("unauthenticated")

// Credentials mints and checks per-sidecar xDS credentials: a credential names one node id
// and carries an HMAC-SHA256 of it under the control plane's key, so only the control plane
// (or whoever holds its key) can mint one, and a credential proves exactly one node id. The
// credential is a bearer secret: it is rendered into that sidecar's bootstrap only.
//
// Certificates (mTLS on the xDS connection, SDS) can replace or complement it: the server
// asks an Authenticator for the node id a stream proved, whatever proved it.
type Credentials struct {
	key []byte
}

// Authenticator tells which node id a stream's peer proved (from its gRPC metadata or, later,
// its client certificate), or why it proved none.
type Authenticator interface {
	Authenticate(ctx context.Context) (nodeID string, err error)
}

var _ Authenticator = (*Credentials)(nil)

// NewCredentials returns Credentials for a key (at least 16 bytes).
func NewCredentials(key []byte) (*Credentials, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("xds key: %d bytes, want at least 16", len(key))
	}
	return &Credentials{key: append([]byte(nil), key...)}, nil
}

// RandomCredentials returns Credentials for a fresh random key (tests, ephemeral servers).
func RandomCredentials() *Credentials {
	var key [32]byte
	_, _ = rand.Read(key[:]) // crypto/rand never fails on supported platforms
	return &Credentials{key: key[:]}
}

// EnsureKey returns the key in <dataDir>/xds-key, generating a random one (readable only by
// the user) when there is none.
func EnsureKey(dataDir string) ([]byte, error) {
	p := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		key, err := DecodeKey(b)
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("xds key %s: not 32+ hex digits (delete it to generate a new key; every sidecar then needs a new credential)", p)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("xds key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(p, EncodeKey(key), 0o600); err != nil {
		return nil, fmt.Errorf("write xds key: %w", err)
	}
	return key, nil
}

// EncodeKey returns the key file's content for a key: hex digits and a newline.
func EncodeKey(key []byte) []byte { return []byte(hex.EncodeToString(key) + "\n") }

// DecodeKey returns the key a key file's content holds (EncodeKey's; surrounding space is
// ignored). It does not check the key's length: NewCredentials does.
func DecodeKey(b []byte) ([]byte, error) { return hex.DecodeString(strings.TrimSpace(string(b))) }

func (c *Credentials) mac(nodeID string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("wasmesh xds node\x00"))
	h.Write([]byte(nodeID))
	return h.Sum(nil)
}

// Token returns the credential of a node id.
func (c *Credentials) Token(nodeID string) string {
	enc := base64.RawURLEncoding
	return credentialPrefix + enc.EncodeToString([]byte(nodeID)) + "." + enc.EncodeToString(c.mac(nodeID))
}

// Verify returns the node id a credential names, or an error wrapping ErrUnauthenticated.
func (c *Credentials) Verify(token string) (string, error) {
	rest, ok := strings.CutPrefix(token, credentialPrefix)
	if !ok {
		return "", fmt.Errorf("%w: not a wasmesh sidecar credential", ErrUnauthenticated)
	}
	idPart, macPart, ok := strings.Cut(rest, ".")
	enc := base64.RawURLEncoding
	id, err1 := enc.DecodeString(idPart)
	mac, err2 := enc.DecodeString(macPart)
	if !ok || err1 != nil || err2 != nil || len(id) == 0 {
		return "", fmt.Errorf("%w: malformed credential", ErrUnauthenticated)
	}
	if !hmac.Equal(mac, c.mac(string(id))) {
		return "", fmt.Errorf("%w: credential for node %q was not issued by this control plane", ErrUnauthenticated, id)
	}
	return string(id), nil
}

// Authenticate implements Authenticator: the stream's `authorization: Bearer <credential>`
// metadata.
func (c *Credentials) Authenticate(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(MetadataKey)
	if len(vals) != 1 {
		return "", fmt.Errorf("%w: no %s metadata with the sidecar's credential (render the bootstrap with its xDS credential: docs/envoy.md)", ErrUnauthenticated, MetadataKey)
	}
	token, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok {
		return "", fmt.Errorf("%w: %s metadata is not \"Bearer <credential>\"", ErrUnauthenticated, MetadataKey)
	}
	return c.Verify(token)
}
