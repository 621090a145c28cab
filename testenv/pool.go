package testenv

import "errors"

// Pool serves parallel streams with several Envs running the same chain, like Envoy's worker
// threads: each Env has its own VMs and clock; metrics and shared data are shared by all of
// them (Envoy keeps both process-wide). Do is safe for concurrent use.
type Pool struct {
	envs []*Env
	idle chan *Env
}

// StartPool starts size Envs (at least 1) on r, each running the chain; the error is the first
// Env's that refuses. Close the Pool when done (testenvtest.NewPool does it for a test).
func (r *Runtime) StartPool(size int, filters []Filter, opts ...Option) (*Pool, error) {
	if size < 1 {
		size = 1
	}
	metrics, shared := newMetricStore(), newSharedStore()
	p := &Pool{idle: make(chan *Env, size)}
	for range size {
		e, err := start(r, filters, metrics, shared, opts)
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
