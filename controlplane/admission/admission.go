package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
)

// The stages of admission, in the order they run (Refusal.Stage names one).
const (
	StageDecode     = "decode"
	StageStructure  = "structure"
	StageReferences = "references"
	StagePolicy     = "policy"
	StageFilters    = "filter parsers"
	StageModules    = "module fetch"
	StageDryRun     = "dry run"
)

// stages is admission, in order. Decode and structure look at each document alone (every
// document they can: one pass names each document's problems); the others look at the set
// the store would hold after the apply, the snapshot at revision R overlaid by the
// documents, and run only once every stage before them passed: each relies on what the
// earlier ones checked (the filter parsers on references that resolve, the dry run on a
// module that is there), and the slow ones (module fetch, dry run) run only on input the
// quick ones accepted. Each stage reports every problem it finds, on the document it
// belongs to.
func (p *Pipeline) stages() []stage {
	return []stage{
		{StageDecode, eachDocument, decode},                  // wire JSON → resource, strictly (crd.DecodeObject, the CLI's decoder)
		{StageStructure, eachDocument, structure},            // each resource alone (crd.Validate, unless its decoder did); none twice
		{StageReferences, wholeSet, references},              // across the set (crd.References)
		{StagePolicy, wholeSet, checkers(p.cfg.Policy...)},   // the deployment mode's limits, the embedder's checks
		{StageFilters, wholeSet, checkers(p.cfg.Filters...)}, // the filters' own parsers on the IR (controlplane/ir)
		{StageModules, wholeSet, checkers(p.cfg.Modules)},    // every changed WasmPlugin's module is on the server
		{StageDryRun, wholeSet, checkers(p.cfg.DryRun)},      // every changed WasmPlugin starts with its config
	}
}

// Config configures a Pipeline. The stages that differ between the standalone control plane
// and Kubernetes mode are crd.Checker values; nil ones check nothing.
type Config struct {
	// Store is what Apply reads (a snapshot at a revision R) and commits to (only if it is
	// still at R). Nil for a pipeline that only checks: the Kubernetes webhook, whose API
	// server commits.
	Store *store.Store
	// Policy are the deployment mode's own limits (Kubernetes mode runs no CA) and any checks
	// the embedder adds.
	Policy []crd.Checker
	// Filters run the built-in filters' own config parsers on the IR of the set (controlplane/ir:
	// every Service's policies as the translator emits them), and the translator's other limits
	// (plugin slots). The control plane provides them (controlplane.FilterChecker).
	Filters []crd.Checker
	// Modules makes sure every created or changed WasmPlugin's module is on the server
	// (FetchModules; Kubernetes mode fetches nothing: kube.ModuleChecker).
	Modules crd.Checker
	// DryRun starts every created or changed WasmPlugin with its configuration (PluginDryRun).
	DryRun crd.Checker
	// MaxAttempts bounds how often Apply admits again because other writes committed while it
	// ran (default 5; a later attempt is quick: modules fetched by an earlier one are there).
	MaxAttempts int
}

// Pipeline admits applies and deletes: the one place where the stages of admission are listed
// and run. It is safe for concurrent use.
type Pipeline struct {
	cfg Config
}

// New returns the pipeline for cfg.
func New(cfg Config) *Pipeline {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	return &Pipeline{cfg: cfg}
}

// Input is one document to admit: where it came from (every message about it names it) and
// the resource, as JSON (the API's wire form) or already decoded by the strict YAML decoder
// (crd.Decode: the CLI's files, the Kubernetes webhook's objects).
type Input struct {
	// Document is the origin (Source, Index, Line, Lines) and, when JSON is empty, the
	// decoded resource (checked by the structure stage unless Document.Validated).
	crd.Document
	// JSON is the resource as sent over the API; decode reads Object from it.
	JSON json.RawMessage
}

// Inputs returns the inputs of documents already decoded (crd.Decode, crd.ReadPaths).
func Inputs(docs ...crd.Document) []Input {
	in := make([]Input, len(docs))
	for i, d := range docs {
		in[i] = Input{Document: d}
	}
	return in
}

// Refusal is admission's answer to input it refuses: the stage that refused it and every
// problem that stage found (joined), each naming its document and field path.
type Refusal struct {
	Stage string
	// Revision is the store revision the input was checked against.
	Revision uint64
	Err      error
}

func (r *Refusal) Error() string { return r.Err.Error() }

func (r *Refusal) Unwrap() error { return r.Err }

// Outcome is what an admitted apply did or, for a dry run, would do.
type Outcome struct {
	// Results has one entry per document, in order (a dry run's carry no new generation).
	Results []store.Result
	// Revision is the store's revision after the commit (a dry run: the one checked against).
	Revision uint64
	DryRun   bool
	// Attempts is how many times admission ran: more than once when other writes committed
	// while it ran.
	Attempts int
}

// Apply admits the documents against a snapshot of the store, outside its write lock, and
// commits them only if the store is still at the snapshot's revision; when another write
// committed meanwhile, admission runs again on the new state (at most MaxAttempts times,
// then an error wrapping store.ErrConflict). With dryRun nothing is committed.
//
// A refusal is a *Refusal. When ctx ends (the client went away), Apply returns its error
// and commits nothing, even if admission succeeds after all.
func (p *Pipeline) Apply(ctx context.Context, in []Input, dryRun bool) (*Outcome, error) {
	if p.cfg.Store == nil {
		return nil, errors.New("admission: this pipeline has no store to apply to")
	}
	for attempt := 1; ; attempt++ {
		stored, rev, err := p.cfg.Store.List()
		if err != nil {
			return nil, err
		}
		docs, err := p.admit(ctx, in, stored, rev)
		if err != nil {
			return nil, err
		}
		objs := make([]crd.Object, len(docs))
		for i, d := range docs {
			objs[i] = d.Object
		}
		if dryRun {
			return &Outcome{Results: predict(stored, objs), Revision: rev, DryRun: true, Attempts: attempt}, nil
		}
		results, err := p.cfg.Store.ApplyIf(ctx, objs, rev)
		switch {
		case errors.Is(err, store.ErrConflict) && attempt < p.cfg.MaxAttempts:
			continue
		case errors.Is(err, store.ErrConflict):
			return nil, fmt.Errorf("%w %d times while this apply was validated: apply again", err, attempt)
		case err != nil:
			return nil, err
		}
		// ApplyIf committed at rev: the revision moved by one if anything changed.
		for _, r := range results {
			if r.Action != store.Unchanged {
				rev++
				break
			}
		}
		return &Outcome{Results: results, Revision: rev, Attempts: attempt}, nil
	}
}

// Check admits the documents against stored and commits nothing: the Kubernetes webhook,
// whose API server commits. A refusal is a *Refusal.
func (p *Pipeline) Check(ctx context.Context, in []Input, stored *crd.Set) error {
	_, err := p.admit(ctx, in, stored, 0)
	return err
}

// Delete removes a resource if its admission accepts it: no other stored resource still
// refers to it (crd.CheckDelete; a refusal is a *Refusal wrapping crd.ErrInUse). That check
// is quick and reads only the store, so it runs inside the store's write transaction and
// holds at commit. When ctx ends first, nothing is deleted.
func (p *Pipeline) Delete(ctx context.Context, key crd.Key) (store.Result, error) {
	if p.cfg.Store == nil {
		return store.Result{}, errors.New("admission: this pipeline has no store to delete from")
	}
	return p.cfg.Store.Delete(key, func(stored *crd.Set) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("not committed: %w", err) // the client went away
		}
		return p.CheckDelete(stored, key)
	})
}

// CheckDelete is the admission of deleting key from stored (the Kubernetes webhook's).
func (p *Pipeline) CheckDelete(stored *crd.Set, key crd.Key) error {
	if err := crd.CheckDelete(stored, key); err != nil {
		return &Refusal{Stage: StageReferences, Err: err}
	}
	return nil
}

// admit runs the stages on the input against stored (at revision rev) and returns the
// decoded documents, a *Refusal, or ctx's error once ctx has ended.
func (p *Pipeline) admit(ctx context.Context, in []Input, stored *crd.Set, rev uint64) ([]crd.Document, error) {
	r := &run{in: in, stored: stored}
	var refusal *Refusal
	for _, s := range p.stages() {
		if refusal != nil && s.scope == wholeSet {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := s.check(ctx, r)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, ctx.Err() // the stage failed because the client went away
		case refusal == nil:
			refusal = &Refusal{Stage: s.name, Revision: rev, Err: err}
		default:
			refusal.Err = errors.Join(refusal.Err, err)
		}
	}
	if refusal != nil {
		return nil, refusal
	}
	return r.docs, nil
}

// stage is one step of admission.
type stage struct {
	name  string
	scope scope
	check func(ctx context.Context, r *run) error
}

// scope is what a stage looks at.
type scope int

const (
	// eachDocument: each document alone. The stage checks the documents the stages before
	// it could read, even when they refused others.
	eachDocument scope = iota
	// wholeSet: the set the store would hold after the apply. The stage runs only once
	// every stage before it passed.
	wholeSet
)

// run is one admission of some input against one state of the store.
type run struct {
	in     []Input
	docs   []crd.Document // decoded, in input order
	stored *crd.Set       // the store's state

	// Set by merge (the references stage).
	merged  *crd.Set                  // stored overlaid by the documents
	applied []crd.Key                 // the documents' keys
	changed []crd.Key                 // the keys whose spec the apply creates or changes
	byKey   map[crd.Key]*crd.Document // where each applied resource came from
}

func (r *run) merge() {
	r.merged = crd.Merge(r.stored, r.docs)
	old := map[crd.Key]crd.Object{}
	for _, o := range r.stored.Objects() {
		old[crd.KeyOf(o)] = o
	}
	r.byKey = map[crd.Key]*crd.Document{}
	for i := range r.docs {
		k := crd.KeyOf(r.docs[i].Object)
		r.byKey[k] = &r.docs[i]
		r.applied = append(r.applied, k)
		if o, ok := old[k]; !ok || string(o.SpecJSON()) != string(r.docs[i].Object.SpecJSON()) {
			r.changed = append(r.changed, k)
		}
	}
}

// decode reads each document sent as JSON, strictly.
func decode(_ context.Context, r *run) error {
	var errs []error
	r.docs = make([]crd.Document, 0, len(r.in))
	for _, in := range r.in {
		d := in.Document
		if len(in.JSON) > 0 {
			// The decoder of `wasmesh apply`: every problem reads as the CLI's, on the lines
			// the client sent. It checks structure too, without follow-ups on fields that
			// failed to decode.
			var err error
			if d, err = crd.DecodeObject(d, in.JSON); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if d.Object == nil {
			errs = append(errs, d.Wrap(errors.New("no resource")))
			continue
		}
		r.docs = append(r.docs, d)
	}
	return errors.Join(errs...)
}

// structure validates each resource alone (those the decoder has not checked already: a
// document decoded here from JSON or by crd.Decode before admission is Validated), and
// refuses a resource given twice.
func structure(_ context.Context, r *run) error {
	var errs []error
	for _, d := range r.docs {
		if d.Validated {
			continue
		}
		for _, fe := range crd.Validate(d.Object) {
			errs = append(errs, d.Wrap(fe))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	seen := map[crd.Key]bool{}
	for _, d := range r.docs {
		k := crd.KeyOf(d.Object)
		if seen[k] {
			errs = append(errs, d.Errorf("metadata.name", "%s %q appears twice in the request", k.Kind, k.Name))
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// references overlays the store's state with the documents, the set every later stage
// checks, and checks every cross-resource reference of it; a stored resource the apply would
// break is reported on the applied resource that breaks it.
func references(_ context.Context, r *run) error {
	r.merge()
	return r.attribute(crd.References(r.merged, r.applied...))
}

// checkers runs each checker on the set (all of them: every problem in one pass).
func checkers(cs ...crd.Checker) func(ctx context.Context, r *run) error {
	return func(ctx context.Context, r *run) error {
		var errs []error
		for _, c := range cs {
			if c != nil {
				errs = append(errs, r.attribute(c.Check(ctx, r.merged, r.changed)))
			}
		}
		return errors.Join(errs...)
	}
}

// attribute turns the *crd.ObjectError values of err into *crd.DocError values of the applied
// documents; a stored resource's problem is reported on the applied resource it refers to
// (ObjectError.Ref), else as it is.
func (r *run) attribute(err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range crd.Leaves(err) {
		var oe *crd.ObjectError
		if !errors.As(e, &oe) {
			out = append(out, e)
			continue
		}
		if d, ok := r.byKey[oe.Key]; ok {
			out = append(out, d.Wrap(oe.Err))
			continue
		}
		if oe.Ref != nil {
			if d, ok := r.byKey[*oe.Ref]; ok {
				out = append(out, d.Wrap(&crd.FieldError{Path: "spec.versions", Err: fmt.Errorf("breaks %w", oe)}))
				continue
			}
		}
		out = append(out, oe)
	}
	return errors.Join(out...)
}

// predict says what applying objs on top of stored would do, without generations.
func predict(stored *crd.Set, objs []crd.Object) []store.Result {
	byKey := map[crd.Key]crd.Object{}
	for _, o := range stored.Objects() {
		byKey[crd.KeyOf(o)] = o
	}
	out := make([]store.Result, len(objs))
	for i, o := range objs {
		k := crd.KeyOf(o)
		res := store.Result{Key: k, Action: store.Created}
		if old, ok := byKey[k]; ok {
			res.Action, res.Generation, res.ResourceVersion = store.Configured, old.Meta().Generation, old.Meta().ResourceVersion
			if string(old.SpecJSON()) == string(o.SpecJSON()) && maps.Equal(old.Meta().Labels, o.Meta().Labels) {
				res.Action = store.Unchanged
			}
		}
		out[i] = res
	}
	return out
}
