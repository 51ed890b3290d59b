package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// On a bucket the state is a series of generations, "_state/<n>.json", each written
// once with "create only if absent" (design §2, invariant 7). Writing generation n+1
// succeeds for exactly one writer, so the series is also the lock: a run that finds
// that someone else wrote the generation it meant to write has lost the state and
// stops saving. A generation written by a live run says so ("open") and claims the
// state for a lease; a run that crashed stops renewing it, and the next run takes
// over once the lease has lapsed.

const (
	genPrefix = "_state/"
	// opTimeout bounds each request, so a hung store cannot hold a run forever.
	opTimeout = 2 * time.Minute

	defaultLease = 2 * time.Minute
	defaultKeep  = 5
)

// Bucket save steps at which a fault hook is called; see SetFaultHook.
const (
	stepGenUploading = "generation-uploading" // bytes handed to the upload, not yet closed
	stepGenWritten   = "generation-written"   // the upload closed without error: durable
)

// BucketOptions tune OpenBucket.
type BucketOptions struct {
	RunID string           // recorded in every generation this store writes
	Lease time.Duration    // default 2m: how long a generation written by a live run claims the state
	Keep  int              // generations kept when pruning (default 5, at least 2)
	Now   func() time.Time // tests
}

// genMeta is what a generation adds to File.
type genMeta struct {
	Generation int64     `json:"generation,omitempty"`
	RunID      string    `json:"run_id,omitempty"`
	Open       bool      `json:"open,omitempty"`      // the run still holds the state
	HeldSince  time.Time `json:"held_since,omitzero"` // when that run claimed it
	WrittenAt  time.Time `json:"written_at,omitzero"` // the lease runs from here
}

// genFile is a generation object: the state file's fields, then the metadata.
type genFile struct {
	*File
	genMeta
}

func genKey(n int64) string { return fmt.Sprintf("%s%012d.json", genPrefix, n) }

// OpenBucket opens the state kept under b (already scoped to the state root; the
// caller owns b and closes it after the Store). Generations live at "_state/<n>.json",
// the line index under "_state/index/", the refresh token under "_state/token/".
// display names the location in errors and is what Path returns.
//
// It reads the newest generation, validated as Open validates a file (ErrCorrupt,
// ErrVersion, ErrAccount; a refused generation is never written over), and claims the
// state by writing the next generation. If another run holds it — its newest
// generation is open and its lease has not lapsed — or claims it at the same moment,
// the error wraps ErrLocked.
//
// Requests use ctx without its cancellation, each bounded by a timeout: checkpoints
// must still be saved while a cancelled run shuts down. The Store must be closed.
func OpenBucket(ctx context.Context, b *blob.Bucket, display, accountID string, opts BucketOptions) (*Store, error) {
	if opts.Lease <= 0 {
		opts.Lease = defaultLease
	}
	if opts.Keep == 0 {
		opts.Keep = defaultKeep
	}
	opts.Keep = max(opts.Keep, 2) // a reader may still be fetching the one before the newest
	if opts.Now == nil {
		opts.Now = time.Now
	}
	where := "state " + display
	base := context.WithoutCancel(ctx)

	f, meta, n, err := loadNewest(base, b, display)
	if err != nil {
		return nil, err
	}
	if err := adoptAccount(f, where, accountID); err != nil {
		return nil, err
	}
	now := opts.Now().UTC()
	if meta.Open && meta.WrittenAt.Add(opts.Lease).After(now) {
		return nil, &stateError{
			msg: fmt.Sprintf("%s is in use by extract run %q since %s (generation %d written at %s); "+
				"its lease expires at %s unless that run writes again",
				where, meta.RunID, fmtTime(meta.HeldSince), n, fmtTime(meta.WrittenAt), fmtTime(meta.WrittenAt.Add(opts.Lease))),
			kind: ErrLocked,
		}
	}

	bb := &bucketBackend{
		b: b, ctx: base, display: display, where: where,
		runID: opts.RunID, lease: opts.Lease, keep: opts.Keep, now: opts.Now,
		gen: n, heldSince: now, stopc: make(chan struct{}), done: make(chan struct{}),
	}
	if err := bb.write(f, true, nil); err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, &stateError{
				msg:  fmt.Sprintf("%s was claimed by another extract run at the same moment (generation %d)", where, n+1),
				kind: ErrLocked,
			}
		}
		return nil, fmt.Errorf("%s: claim: %w", where, err)
	}
	s := newStore(display, where, bb, f, opts.Now)
	go s.heartbeat(bb)
	return s, nil
}

// LoadBucket reads and validates the newest generation under b without claiming the
// state, for display (`extract state show`). Like Load, it does not check the account,
// and no generation is an empty state.
func LoadBucket(ctx context.Context, b *blob.Bucket, display string) (*File, error) {
	f, _, _, err := loadNewest(context.WithoutCancel(ctx), b, display)
	return f, err
}

// loadNewest finds and decodes the newest generation; n is 0 if there is none.
func loadNewest(ctx context.Context, b *blob.Bucket, display string) (*File, genMeta, int64, error) {
	// A run pruning old generations may delete the one just listed; list again then.
	for attempt := 0; ; attempt++ {
		gens, err := listGens(ctx, b)
		if err != nil {
			return nil, genMeta{}, 0, fmt.Errorf("state %s: list %s: %w", display, genPrefix, err)
		}
		if len(gens) == 0 {
			return &File{Version: Version, Streams: map[string]Stream{}}, genMeta{}, 0, nil
		}
		n := gens[len(gens)-1]
		key := genKey(n)
		data, err := readObject(ctx, b, key)
		if gcerrors.Code(err) == gcerrors.NotFound && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, genMeta{}, 0, fmt.Errorf("state %s: read %s: %w", display, key, err)
		}
		f, meta, err := decodeGen(display+"/"+key, n, data)
		return f, meta, n, err
	}
}

// decodeGen validates a generation like a state file, then its metadata.
func decodeGen(name string, n int64, data []byte) (*File, genMeta, error) {
	f, err := decode(name, data)
	if err != nil {
		return nil, genMeta{}, err
	}
	var meta genMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, genMeta{}, corrupt(name, err, "has invalid generation metadata: %v", err)
	}
	// A generation without metadata (a state file copied in by hand) is accepted.
	if meta.Generation != 0 && meta.Generation != n {
		return nil, genMeta{}, corrupt(name, nil, "says it is generation %d", meta.Generation)
	}
	if err := checkTime(meta.WrittenAt); err != nil {
		return nil, genMeta{}, corrupt(name, nil, "has invalid written_at: %v", err)
	}
	meta.WrittenAt, meta.HeldSince = meta.WrittenAt.UTC(), meta.HeldSince.UTC()
	return f, meta, nil
}

func readObject(ctx context.Context, b *blob.Bucket, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return b.ReadAll(ctx, key)
}

// listGens returns the generation numbers under genPrefix, ascending.
func listGens(ctx context.Context, b *blob.Bucket) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var gens []int64
	it := b.List(&blob.ListOptions{Prefix: genPrefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		digits, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, genPrefix), ".json")
		if obj.IsDir || !ok || len(digits) != 12 || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err == nil && n > 0 {
			gens = append(gens, n)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

// bucketBackend writes generations. The Store's mutex serialises its methods.
type bucketBackend struct {
	b              *blob.Bucket
	ctx            context.Context // the caller's, without its cancellation
	display, where string
	runID          string
	lease          time.Duration
	keep           int
	now            func() time.Time

	gen       int64     // the newest generation, written or claimed by this store
	heldSince time.Time // when this store claimed the state
	lastWrite time.Time // by now(), for the heartbeat
	writes    int       // since the last prune
	lost      error     // set once another run wrote a generation: every later write fails

	stopc, done chan struct{}
	stopOnce    sync.Once
}

func (bb *bucketBackend) save(f *File, hook func(string) error) error {
	return bb.write(f, true, hook)
}

// release writes a closed generation, so the next run need not wait for the lease.
// A store that lost the state writes nothing and reports nothing more.
func (bb *bucketBackend) release(final *File, hook func(string) error) error {
	if bb.lost != nil {
		return nil
	}
	return bb.write(final, false, hook)
}

func (bb *bucketBackend) lineIndex(stream string) *LineIndex {
	return &LineIndex{stream: stream, bucket: &bucketIndex{b: bb.b, ctx: bb.ctx, display: bb.display}}
}

// write creates generation gen+1 holding f, only if no one else has.
func (bb *bucketBackend) write(f *File, open bool, hook func(string) error) error {
	if bb.lost != nil {
		return bb.lost
	}
	now := bb.now().UTC()
	next := bb.gen + 1
	meta := genMeta{Generation: next, RunID: bb.runID, Open: open, HeldSince: bb.heldSince, WrittenAt: now}
	data, err := json.MarshalIndent(genFile{File: f, genMeta: meta}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	key := genKey(next)
	err = putNew(bb.ctx, bb.b, key, append(data, '\n'), hook)
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		bb.lost = &stateError{
			msg: fmt.Sprintf("another extract run wrote generation %d of the state at %s while this run held it; "+
				"this run's checkpoints were not saved, its output files are still valid", next, bb.display),
			kind:  ErrLocked,
			cause: err,
		}
		return bb.lost
	}
	if err != nil && !errors.Is(err, errAfterWrite) {
		return fmt.Errorf("write %s: %w", key, err)
	}
	// Durable, even if a fault hook fails after it: the next write must not reuse n.
	bb.gen, bb.lastWrite = next, now
	bb.writes++
	if bb.writes >= bb.keep {
		bb.writes = 0
		bb.prune()
	}
	return err
}

// prune deletes generations older than the newest keep. Best effort: a leftover is
// harmless, and the next prune tries again.
func (bb *bucketBackend) prune() {
	gens, err := listGens(bb.ctx, bb.b)
	if err != nil {
		return
	}
	for _, n := range gens {
		if n > bb.gen-int64(bb.keep) {
			break
		}
		ctx, cancel := context.WithTimeout(bb.ctx, opTimeout)
		_ = bb.b.Delete(ctx, genKey(n))
		cancel()
	}
}

// errAfterWrite marks a fault injected after the object became durable.
var errAfterWrite = errors.New("after the write")

// putNew uploads data to key if no object is there (gcerrors.FailedPrecondition if one
// is). hook, if set, runs at the bucket save steps: an error before the upload closes
// abandons it.
func putNew(ctx context.Context, b *blob.Bucket, key string, data []byte, hook func(string) error) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	w, err := b.NewWriter(ctx, key, &blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel()
		w.Close()
		return err
	}
	if hook != nil {
		if err := hook(stepGenUploading); err != nil {
			cancel() // abandons the upload: the object never appears
			w.Close()
			return fmt.Errorf("fault at %s: %w", stepGenUploading, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if hook != nil {
		if err := hook(stepGenWritten); err != nil {
			return fmt.Errorf("fault at %s: %w: %w", stepGenWritten, errAfterWrite, err)
		}
	}
	return nil
}

// heartbeat rewrites the state when nothing was written for a third of the lease, so
// that a quiet stretch does not let the claim lapse.
func (s *Store) heartbeat(bb *bucketBackend) {
	defer close(bb.done)
	t := time.NewTicker(max(bb.lease/6, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-bb.stopc:
			return
		case <-t.C:
		}
		s.mu.Lock()
		if !s.closed && bb.lost == nil && bb.now().Sub(bb.lastWrite) >= bb.lease/3 {
			_ = bb.write(&s.file, true, s.hook) // a failure is retried next tick; a loss shows at the next save
		}
		s.mu.Unlock()
	}
}

func (bb *bucketBackend) stop() {
	bb.stopOnce.Do(func() { close(bb.stopc) })
	<-bb.done
}
