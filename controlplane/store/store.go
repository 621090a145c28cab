package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// FileName is the database file inside the data directory.
const FileName = "wasmesh.db"

var (
	bucketObjects = []byte("objects")
	bucketMeta    = []byte("meta")
	keyRevision   = []byte("revision")
)

// ErrNotFound is returned for a resource the store does not hold.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) by ApplyIf when the store is no longer at the revision
// the caller validated against.
var ErrConflict = errors.New("the store changed since it was read")

// Action says what an apply did to one resource.
type Action string

// The actions of an apply, as kubectl prints them.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Deleted    Action = "deleted"
)

// Result is the outcome of an apply for one resource.
type Result struct {
	Key             crd.Key `json:"key"`
	Action          Action  `json:"action"`
	Generation      int64   `json:"generation"`
	ResourceVersion uint64  `json:"resourceVersion"`
}

// Store is the bbolt-backed resource store. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time

	mu      sync.Mutex
	subs    map[int]chan uint64
	nextID  int
	lastRev uint64 // highest revision notified
}

// Options tunes Open.
type Options struct {
	// Now returns the creation timestamp of new resources (default time.Now).
	Now func() time.Time
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", filepath.Join(dir, FileName), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketObjects, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: init: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, subs: map[int]chan uint64{}}, nil
}

// Close closes the database and every subscription channel.
func (s *Store) Close() error {
	s.mu.Lock()
	for id, ch := range s.subs {
		close(ch)
		delete(s.subs, id)
	}
	s.mu.Unlock()
	return s.db.Close()
}

// Revision returns the global resource version: it grows by one with every apply or delete
// that changes something.
func (s *Store) Revision() (uint64, error) {
	var rev uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		rev = revision(tx)
		return nil
	})
	return rev, err
}

func revision(tx *bolt.Tx) uint64 {
	b := tx.Bucket(bucketMeta).Get(keyRevision)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// List returns every stored resource as a Set, with the revision it reflects.
func (s *Store) List() (*crd.Set, uint64, error) {
	var (
		set *crd.Set
		rev uint64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		set, err = load(tx)
		rev = revision(tx)
		return err
	})
	return set, rev, err
}

func load(tx *bolt.Tx) (*crd.Set, error) {
	var objs []crd.Object
	err := tx.Bucket(bucketObjects).ForEach(func(k, v []byte) error {
		o, err := crd.Unmarshal(v)
		if err != nil {
			return fmt.Errorf("store: %s: %w", k, err)
		}
		objs = append(objs, o)
		return nil
	})
	return crd.NewSet(objs...), err
}

// Get returns one resource, or an error wrapping ErrNotFound.
func (s *Store) Get(key crd.Key) (crd.Object, error) {
	var o crd.Object
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketObjects).Get([]byte(key.String()))
		if v == nil {
			return fmt.Errorf("%s %q: %w", key.Kind, key.Name, ErrNotFound)
		}
		var err error
		o, err = crd.Unmarshal(v)
		return err
	})
	return o, err
}

// ValidateFunc checks an apply or delete against the stored state, inside the transaction
// that then commits it.
type ValidateFunc func(stored *crd.Set) error

// Apply stores the resources in one transaction: validate runs first on the stored state
// (nil skips it); on any error nothing is written. A resource whose spec and labels are
// unchanged is left as is; a changed spec bumps its generation; every resource the apply
// creates or changes gets the new global revision as its resourceVersion. Results are in the
// order of objs.
//
// validate runs inside the write transaction, so it must be quick: slow admission (module
// downloads, dry runs) belongs before ApplyIf.
func (s *Store) Apply(objs []crd.Object, validate ValidateFunc) ([]Result, error) {
	return s.apply(objs, func(tx *bolt.Tx) error {
		if validate == nil {
			return nil
		}
		stored, err := load(tx)
		if err != nil {
			return err
		}
		return validate(stored)
	})
}

// ApplyIf is Apply for a caller that validated objs against the store at revision rev (as
// List returned it), outside the write lock: it writes only if the store is still at rev
// (else an error wrapping ErrConflict: validate again and retry) and ctx has not ended (a
// request whose client went away is not committed). Checking both takes no time, so a slow
// admission never holds the write lock.
func (s *Store) ApplyIf(ctx context.Context, objs []crd.Object, rev uint64) ([]Result, error) {
	return s.apply(objs, func(tx *bolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("not committed: %w", err)
		}
		if now := revision(tx); now != rev {
			return fmt.Errorf("validated at revision %d, now %d: %w", rev, now, ErrConflict)
		}
		return nil
	})
}

func (s *Store) apply(objs []crd.Object, check func(tx *bolt.Tx) error) ([]Result, error) {
	results := make([]Result, len(objs))
	var rev uint64
	changed := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := check(tx); err != nil {
			return err
		}
		b := tx.Bucket(bucketObjects)
		rev = revision(tx) + 1
		for i, in := range objs {
			key := crd.KeyOf(in)
			o := crd.Clone(in)
			m := o.Meta()
			m.Namespace = key.Namespace
			*o.GetStatus() = crd.Status{}
			res := Result{Key: key, Action: Created, Generation: 1, ResourceVersion: rev}
			if prev := b.Get([]byte(key.String())); prev != nil {
				old, err := crd.Unmarshal(prev)
				if err != nil {
					return fmt.Errorf("store: %s: %w", key, err)
				}
				om := old.Meta()
				specSame := string(old.SpecJSON()) == string(o.SpecJSON())
				labelsSame := maps.Equal(om.Labels, m.Labels)
				m.CreationTimestamp = om.CreationTimestamp
				m.Generation = om.Generation
				switch {
				case specSame && labelsSame:
					results[i] = Result{Key: key, Action: Unchanged, Generation: om.Generation, ResourceVersion: om.ResourceVersion}
					continue
				case !specSame:
					m.Generation++
				}
				res.Action, res.Generation = Configured, m.Generation
			} else {
				t := s.now().UTC().Truncate(time.Second)
				m.CreationTimestamp = &t
				m.Generation = 1
			}
			m.ResourceVersion = rev
			data, err := crd.Marshal(o)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(key.String()), data); err != nil {
				return err
			}
			results[i] = res
			changed = true
		}
		if !changed {
			return nil
		}
		return putRevision(tx, rev)
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.notify(rev)
	}
	return results, nil
}

func putRevision(tx *bolt.Tx, rev uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], rev)
	return tx.Bucket(bucketMeta).Put(keyRevision, buf[:])
}

// Delete removes one resource after validate (nil skips it) accepts the stored state; it
// returns an error wrapping ErrNotFound when there is no such resource.
func (s *Store) Delete(key crd.Key, validate ValidateFunc) (Result, error) {
	var rev uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketObjects)
		if b.Get([]byte(key.String())) == nil {
			return fmt.Errorf("%s %q: %w", key.Kind, key.Name, ErrNotFound)
		}
		if validate != nil {
			stored, err := load(tx)
			if err != nil {
				return err
			}
			if err := validate(stored); err != nil {
				return err
			}
		}
		if err := b.Delete([]byte(key.String())); err != nil {
			return err
		}
		rev = revision(tx) + 1
		return putRevision(tx, rev)
	})
	if err != nil {
		return Result{}, err
	}
	s.notify(rev)
	return Result{Key: key, Action: Deleted, ResourceVersion: rev}, nil
}

// Subscribe returns a channel that receives the store's revision after every change. The
// channel holds one value: a slow reader sees only the latest revision. cancel ends the
// subscription and closes the channel.
func (s *Store) Subscribe() (updates <-chan uint64, cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan uint64, 1)
	id := s.nextID
	s.nextID++
	s.subs[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c, ok := s.subs[id]; ok {
			close(c)
			delete(s.subs, id)
		}
	}
}

func (s *Store) notify(rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.lastRev {
		return // a concurrent change already announced a later revision
	}
	s.lastRev = rev
	ids := slices.Sorted(maps.Keys(s.subs))
	for _, id := range ids {
		ch := s.subs[id]
		select {
		case <-ch: // drop the stale revision
		default:
		}
		ch <- rev
	}
}

// Watch calls fn with the stored resources now and again after every change, until ctx ends
// (it then returns ctx.Err()) or the store is closed (nil). Changes made while fn runs are
// coalesced into one call with the latest state. fn runs on Watch's goroutine.
func (s *Store) Watch(ctx context.Context, fn func(set *crd.Set, revision uint64)) error {
	updates, cancel := s.Subscribe()
	defer cancel()
	var last uint64
	first := true
	for {
		set, rev, err := s.List()
		if err != nil {
			return err
		}
		if first || rev != last {
			fn(set, rev)
			first, last = false, rev
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-updates:
			if !ok {
				return nil
			}
		}
	}
}
