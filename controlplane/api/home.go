package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Defaults shared by `wasmesh serve` and the client commands.
const (
	// DefaultServer is the API address clients use.
	DefaultServer = "http://127.0.0.1:18001"
	// DefaultHTTPAddress is where `wasmesh serve` listens for the API and module server.
	DefaultHTTPAddress = "127.0.0.1:18001"
	// DefaultXDSAddress is where `wasmesh serve` listens for ADS.
	DefaultXDSAddress = "127.0.0.1:18000"
	// TokenFile is the token's file name in the data directory.
	TokenFile = "token"
)

// DefaultDataDir returns $WASMESH_HOME, or ~/.wasmesh.
func DefaultDataDir() string {
	if d := os.Getenv("WASMESH_HOME"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".wasmesh"
	}
	return filepath.Join(home, ".wasmesh")
}

// ReadToken returns the API token the data directory holds.
func ReadToken(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no API token: set $WASMESH_TOKEN or --token, or point --data-dir at the server's data directory (%s does not exist)", filepath.Join(dataDir, TokenFile))
		}
		return "", fmt.Errorf("read API token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("read API token: %s is empty", filepath.Join(dataDir, TokenFile))
	}
	return t, nil
}

// EnsureToken returns the data directory's token, generating a random one (readable only by
// the user) when there is none.
func EnsureToken(dataDir string) (string, error) {
	if t, err := ReadToken(dataDir); err == nil {
		return t, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b[:])
	if err := os.WriteFile(filepath.Join(dataDir, TokenFile), []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write API token: %w", err)
	}
	return t, nil
}
