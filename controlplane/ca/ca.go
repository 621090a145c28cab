package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Defaults (docs/security.md).
const (
	// DefaultTrustDomain is the trust domain of SPIFFE IDs unless configured.
	DefaultTrustDomain = "wasmesh.local"
	// DefaultTTL is a leaf certificate's lifetime unless configured.
	DefaultTTL = 24 * time.Hour
	// DefaultJitter is the fraction of the TTL a rotation may come early, unless configured.
	DefaultJitter = 0.1
	// Dir is the CA's folder in the data directory; RootCertFile and RootKeyFile are in it.
	Dir          = "ca"
	RootCertFile = "root.pem"
	RootKeyFile  = "root-key.pem"
	// rootTTL is the lifetime of a generated root.
	rootTTL = 10 * 365 * 24 * time.Hour
)

// Options configure Load. Zero values take the defaults.
type Options struct {
	// TrustDomain is the SPIFFE trust domain (default wasmesh.local).
	TrustDomain string
	// TTL is the leaf certificates' lifetime (default 24h; at least 1s).
	TTL time.Duration
	// Jitter is the fraction of the TTL by which a rotation may come before the half-life
	// (default 0.1; 0 < Jitter < 0.5).
	Jitter float64
	// CertFile and KeyFile, when set, are a user-provided signing certificate (a root or an
	// intermediate) and its key, PEM; nothing is generated. BundleFile holds the trust
	// anchors sidecars verify peers against (default: CertFile, which must then be a root).
	CertFile, KeyFile, BundleFile string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// CA issues leaf certificates. It is safe for concurrent use.
type CA struct {
	opts   Options
	cert   *x509.Certificate
	key    crypto.Signer
	chain  []byte // PEM of the signing certificate when it is an intermediate (sent with leaves)
	bundle []byte // PEM of the trust anchors
}

// Leaf is an issued certificate with its key, PEM encoded.
type Leaf struct {
	SPIFFEID  string
	CertPEM   []byte // the leaf, then any intermediate
	KeyPEM    []byte
	Issued    time.Time // when it was issued (NotBefore is a minute earlier, for clock skew)
	NotBefore time.Time
	NotAfter  time.Time
	Serial    string
}

var tdRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// Load returns the CA of a data directory: the user-provided certificate and key of opts, or
// the root under <dataDir>/ca, generated (key 0600) when absent.
func Load(dataDir string, opts Options) (*CA, error) {
	if opts.TrustDomain == "" {
		opts.TrustDomain = DefaultTrustDomain
	}
	if !tdRE.MatchString(opts.TrustDomain) || len(opts.TrustDomain) > 255 {
		return nil, fmt.Errorf("trust domain %q: lowercase letters, digits, '.' and '-' only", opts.TrustDomain)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.TTL < time.Second {
		return nil, fmt.Errorf("certificate ttl %s: at least 1s", opts.TTL)
	}
	if opts.Jitter == 0 {
		opts.Jitter = DefaultJitter
	}
	if opts.Jitter <= 0 || opts.Jitter >= 0.5 {
		return nil, fmt.Errorf("rotation jitter %g: between 0 and 0.5 (a fraction of the ttl)", opts.Jitter)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &CA{opts: opts}
	var err error
	if opts.CertFile != "" || opts.KeyFile != "" {
		err = c.loadFiles()
	} else {
		err = c.loadOrGenerate(filepath.Join(dataDir, Dir))
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CA) loadFiles() error {
	o := c.opts
	if o.CertFile == "" || o.KeyFile == "" {
		return errors.New("ca: give both the certificate and the key file (--ca-cert, --ca-key)")
	}
	certPEM, err := os.ReadFile(o.CertFile)
	if err != nil {
		return fmt.Errorf("ca certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(o.KeyFile)
	if err != nil {
		return fmt.Errorf("ca key: %w", err)
	}
	if err := c.parse(certPEM, keyPEM); err != nil {
		return fmt.Errorf("ca %s: %w", o.CertFile, err)
	}
	selfSigned := c.cert.CheckSignatureFrom(c.cert) == nil
	switch {
	case o.BundleFile != "":
		b, err := os.ReadFile(o.BundleFile)
		if err != nil {
			return fmt.Errorf("ca bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("ca bundle %s: no PEM certificate", o.BundleFile)
		}
		if _, err := c.cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: c.opts.Now()}); err != nil {
			return fmt.Errorf("ca %s does not chain to the bundle %s: %w", o.CertFile, o.BundleFile, err)
		}
		c.bundle = b
	case selfSigned:
		c.bundle = pemCert(c.cert.Raw)
	default:
		return fmt.Errorf("ca %s is an intermediate: give the roots it chains to as the bundle (--ca-bundle)", o.CertFile)
	}
	if !selfSigned {
		c.chain = pemCert(c.cert.Raw)
	}
	return nil
}

func (c *CA) parse(certPEM, keyPEM []byte) error {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return err
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("not a CA certificate (basicConstraints CA:TRUE and keyCertSign required)")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return errors.New("key: no PEM block")
	}
	var key any
	switch kb.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return errors.New("key: not a signing key")
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return errors.New("the key does not belong to the certificate")
	}
	c.cert, c.key = cert, signer
	return nil
}

func (c *CA) loadOrGenerate(dir string) error {
	certPath, keyPath := filepath.Join(dir, RootCertFile), filepath.Join(dir, RootKeyFile)
	certPEM, err1 := os.ReadFile(certPath)
	keyPEM, err2 := os.ReadFile(keyPath)
	switch {
	case err1 == nil && err2 == nil:
		if st, err := os.Stat(keyPath); err == nil && st.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("ca key %s: permissions %v, want 0600 (chmod 600 it)", keyPath, st.Mode().Perm())
		}
		if err := c.parse(certPEM, keyPEM); err != nil {
			return fmt.Errorf("ca %s: %w (delete %s to generate a new root; every sidecar then gets new certificates)", certPath, err, dir)
		}
		c.bundle = pemCert(c.cert.Raw)
		return nil
	case !errors.Is(err1, fs.ErrNotExist) && err1 != nil:
		return fmt.Errorf("ca: %w", err1)
	case !errors.Is(err2, fs.ErrNotExist) && err2 != nil:
		return fmt.Errorf("ca: %w", err2)
	case (err1 == nil) != (err2 == nil):
		return fmt.Errorf("ca: %s and %s must both exist (delete the one left to generate a new root)", certPath, keyPath)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	now := c.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"wasmesh"}, CommonName: "wasmesh root CA " + c.opts.TrustDomain},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(rootTTL),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: c.opts.TrustDomain}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := os.WriteFile(certPath, pemCert(der), 0o644); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	c.cert, c.key, c.bundle = cert, key, pemCert(der)
	return nil
}

// TrustDomain returns the trust domain.
func (c *CA) TrustDomain() string { return c.opts.TrustDomain }

// TTL returns the leaves' lifetime.
func (c *CA) TTL() time.Duration { return c.opts.TTL }

// BundlePEM returns the trust anchors sidecars verify peers against.
func (c *CA) BundlePEM() []byte { return c.bundle }

// SPIFFEID returns the SPIFFE ID of a workload: spiffe://<trust domain>/ns/<namespace>/sa/<service>.
func SPIFFEID(trustDomain, namespace, service string) string {
	return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + service
}

// Issue returns a new leaf certificate for a workload (a sidecar of service in namespace),
// valid from a minute ago (clock skew) for the TTL.
func (c *CA) Issue(namespace, service string) (*Leaf, error) {
	return c.IssueFor(SPIFFEID(c.opts.TrustDomain, namespace, service), service+"."+namespace)
}

// IssueFor returns a new leaf certificate whose only URI SAN is id (none when id is empty),
// with common name cn: Issue for a workload, or a test client with any identity.
func (c *CA) IssueFor(id, cn string) (*Leaf, error) {
	var uris []*url.URL
	if id != "" {
		u, err := url.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("spiffe id %q: %w", id, err)
		}
		uris = []*url.URL{u}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := c.opts.Now()
	notAfter := now.Add(c.opts.TTL)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	sn := serial()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"wasmesh"}, CommonName: cn},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  uris,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", id, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{
		SPIFFEID:  id,
		CertPEM:   append(pemCert(der), c.chain...),
		KeyPEM:    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		Issued:    now,
		NotBefore: tmpl.NotBefore,
		NotAfter:  notAfter,
		Serial:    sn.Text(16),
	}, nil
}

// IssuePEM is IssueFor returning only what a TLS configuration takes: the certificate (then
// its chain) and the key, in PEM (testenv/e2e.CertIssuer: the mTLS replays of the harness).
func (c *CA) IssuePEM(id, cn string) (certPEM, keyPEM []byte, err error) {
	l, err := c.IssueFor(id, cn)
	if err != nil {
		return nil, nil, err
	}
	return l.CertPEM, l.KeyPEM, nil
}

// RotateAt returns when a leaf is due for rotation: at its half-life, earlier by up to
// Jitter of the TTL (r in [0,1) picks how much), so sidecars issued together do not rotate
// together.
func (c *CA) RotateAt(l *Leaf, r float64) time.Time {
	life := l.NotAfter.Sub(l.Issued)
	early := time.Duration(r * c.opts.Jitter * float64(life))
	return l.Issued.Add(life/2 - early)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n.Add(n, big.NewInt(1))
}
