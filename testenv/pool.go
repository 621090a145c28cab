package testenv

import (
	"errors"
	"testing"
)

// Pool serves parallel streams with several Envs running the same chain, like Envoy's worker
// threads: each Env has its own VMs and clock; metrics and shared data are shared by all of
// them (Envoy keeps both process-wide). Do is safe for concurrent use.
type Pool struct {
	envs []*Env
	idle chan *Env
}

// NewPool starts size Envs (at least 1) and fails the test if any refuses; Close is registered
// with t.Cleanup.
func NewPool(t testing.TB, size int, filters []Filter, opts ...Option) *Pool {
	t.Helper()
	p, err := StartPool(size, filters, opts...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// StartPool is NewPool for non-test callers.
func StartPool(size int, filters []Filter, opts ...Option) (*Pool, error) {
	if size < 1 {
		size = 1
	}
	rt, err := getRuntime(interruptible(opts))
	if err != nil {
		return nil, err
	}
	metrics, shared := newMetricStore(), newSharedStore()
	p := &Pool{idle: make(chan *Env, size)}
	for range size {
		e, err := start(rt, filters, metrics, shared, opts)
		if err != nil {
			_ = p.Close()
			return nil, err
		}
		p.envs = append(p.envs, e)
		p.idle <- e
	}
	return p, nil
}

// Do runs one exchange on an idle Env (waiting for one if all are busy).
func (p *Pool) Do(req Request) *Result {
	e := <-p.idle
	defer func() { p.idle <- e }()
	return e.Do(req)
}

// Envs returns the pool's Envs (for their logs or clocks).
func (p *Pool) Envs() []*Env { return p.envs }

// Metrics returns the metrics all Envs share.
func (p *Pool) Metrics() map[string]float64 {
	if len(p.envs) == 0 {
		return nil
	}
	return p.envs[0].Metrics()
}

// Logs returns every Env's log lines, Env by Env.
func (p *Pool) Logs() []Log {
	var out []Log
	for _, e := range p.envs {
		out = append(out, e.Logs()...)
	}
	return out
}

// Close closes every Env.
func (p *Pool) Close() error {
	var errs []error
	for _, e := range p.envs {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}
