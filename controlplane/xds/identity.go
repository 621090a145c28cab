package xds

import (
	"fmt"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// withIdentityLocked returns the node's resources with its SDS secrets: its own certificate
// (issued on first use, for the SPIFFE ID of its Service) and the CA bundle. A node gets the
// identity of the Service its node id names (<service>.<version>.<n>), which its xDS
// credential proves, never one its metadata merely claims: a node whose metadata names
// another Service gets no identity.
func (s *Server) withIdentityLocked(n *nodeState, res *translate.Resources) *translate.Resources {
	if s.cfg.CA == nil || n.node.Service == "" {
		return res
	}
	svc := n.node.Service
	if !strings.HasPrefix(n.node.ID, svc+".") {
		n.idErr = fmt.Errorf("node id %q does not name Service %q (node ids are <service>.<version>.<n>): no identity issued", n.node.ID, svc)
		n.identity = nil
		return res
	}
	n.idErr = nil
	want := ca.SPIFFEID(s.cfg.CA.TrustDomain(), s.mesh.Namespace(svc), svc)
	if n.identity == nil || n.identity.SPIFFEID != want {
		if err := s.issueLocked(n); err != nil {
			n.idErr = err
			return res
		}
	}
	return res.WithSecrets(translate.IdentitySecrets(n.identity.CertPEM, n.identity.KeyPEM, s.cfg.CA.BundlePEM()))
}

// issueLocked issues the node a new certificate and schedules its rotation.
func (s *Server) issueLocked(n *nodeState) error {
	leaf, err := s.cfg.CA.Issue(s.mesh.Namespace(n.node.Service), n.node.Service)
	if err != nil {
		s.cfg.Log.Error("issue certificate", "node", n.node.ID, "err", err)
		return fmt.Errorf("issue certificate: %w", err)
	}
	n.identity = leaf
	n.rotateAt = s.cfg.CA.RotateAt(leaf, s.cfg.Rand())
	if n.rotate != nil {
		n.rotate.Stop()
	}
	id := n.node.ID
	n.rotate = time.AfterFunc(max(time.Until(n.rotateAt), 0), func() { s.rotate(id, leaf) })
	s.cfg.Log.Debug("certificate issued", "node", id, "spiffe_id", leaf.SPIFFEID, "not_after", leaf.NotAfter, "rotate_at", n.rotateAt)
	return nil
}

// rotate gives a node a new certificate when its current one (leaf) is due, and pushes it;
// Envoy swaps the secret without a restart, and established connections keep going.
func (s *Server) rotate(id string, leaf *ca.Leaf) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[id]
	if n == nil || n.identity != leaf {
		return // forgotten, or rotated meanwhile
	}
	if err := s.issueLocked(n); err != nil {
		n.idErr = err
		n.rotate = time.AfterFunc(time.Second, func() { s.rotate(id, leaf) }) // try again
		s.notifyLocked()
		return
	}
	s.pushLocked(n)
	s.notifyLocked()
}
