package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

// clock is a fake clock shared by stores in a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fileBucket is a bucket in a temp dir; fileblob enforces IfNotExist, as a lock needs.
func fileBucket(t *testing.T) *blob.Bucket {
	t.Helper()
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

const testDisplay = "file:///bucket/state"

func openBucketT(t *testing.T, b *blob.Bucket, opts BucketOptions) *Store {
	t.Helper()
	s, err := OpenBucket(context.Background(), b, testDisplay, testAccount, opts)
	if err != nil {
		t.Fatalf("OpenBucket: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// gens lists the generation numbers on b.
func gens(t *testing.T, b *blob.Bucket) []int64 {
	t.Helper()
	g, err := listGens(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func readGen(t *testing.T, b *blob.Bucket, n int64) (File, genMeta) {
	t.Helper()
	data, err := b.ReadAll(context.Background(), genKey(n))
	if err != nil {
		t.Fatal(err)
	}
	f, meta, err := decodeGen("test", n, data)
	if err != nil {
		t.Fatal(err)
	}
	return *f, meta
}

// abandon stops s as a crash would: no final generation, the claim left to lapse.
func abandon(s *Store) {
	s.be.stop()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// backendCase opens and loads one kind of state location, the same one each call.
type backendCase struct {
	name string
	open func(t *testing.T) *Store
	load func(t *testing.T) (*File, error)
}

func backends(t *testing.T) []backendCase {
	path := filepath.Join(t.TempDir(), "state.json")
	b := fileBucket(t)
	return []backendCase{
		{
			name: "local",
			open: func(t *testing.T) *Store { return openT(t, path) },
			load: func(*testing.T) (*File, error) { return Load(path) },
		},
		{
			name: "bucket",
			open: func(t *testing.T) *Store {
				return openBucketT(t, b, BucketOptions{RunID: "run-1", Now: func() time.Time { return fixedAt.In(berlin) }})
			},
			load: func(*testing.T) (*File, error) { return LoadBucket(context.Background(), b, testDisplay) },
		},
	}
}

// TestStoreOnEachBackend runs the Store's contract against a local file and a bucket:
// saves round-trip through a reopen, SaveAll, Reset, staging, the run record, and a
// closed store refusing writes.
func TestStoreOnEachBackend(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			s := bc.open(t)
			if f, err := bc.load(t); err != nil || len(f.Streams) != 0 || f.Run != nil {
				t.Fatalf("fresh state: %+v, %v", f, err)
			}
			if _, ok := s.LastRun(); ok {
				t.Fatal("LastRun on a fresh state")
			}
			p := &Pass{Lower: fixedAt.In(berlin), Upper: fixedAt.Add(time.Hour), AfterCursor: "2024-11-03 01:30:00", AfterID: 9, Rows: 4}
			if err := s.Save("customer", Stream{Watermark: fixedAt.In(berlin), RowsTotal: 10, FilesTotal: 1}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveAll(map[string]Stream{"a.deleted": {Pass: p}, "b.deleted": {Pass: p, RowsTotal: 2}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Save("gone", Stream{}); err != nil {
				t.Fatal(err)
			}
			if err := s.Reset("gone"); err != nil {
				t.Fatal(err)
			}
			if err := s.StageSchema("customer", testSchema); err != nil {
				t.Fatal(err)
			}
			run := RunInfo{ID: "run-1", Started: fixedAt.In(berlin)}
			if err := s.StageRun(run); err != nil {
				t.Fatal(err)
			}
			if f, _ := bc.load(t); f.Run != nil || f.Schemas != nil {
				t.Fatalf("staged facts written before a checkpoint: %+v", f)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			utcPass := *p
			utcPass.Lower = p.Lower.UTC()
			want := File{
				Version: Version, AccountID: testAccount, UpdatedAt: fixedAt,
				Streams: map[string]Stream{
					"customer":  {Watermark: fixedAt, RowsTotal: 10, FilesTotal: 1, UpdatedAt: fixedAt},
					"a.deleted": {Pass: &utcPass, UpdatedAt: fixedAt},
					"b.deleted": {Pass: &utcPass, RowsTotal: 2, UpdatedAt: fixedAt},
				},
				Schemas: map[string]Schema{"customer": {Columns: testSchema.Columns, Kinds: testSchema.Kinds,
					Dropped: map[string]Dropped{"supportcase": {Reason: testSchema.Dropped["supportcase"].Reason, Since: fixedAt}}}},
				Run: &RunInfo{ID: "run-1", Started: fixedAt},
			}
			mustEqual(t, "Snapshot", s.Snapshot(), want)
			f, err := bc.load(t)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "loaded", *f, want)
			if _, ok := s.LastRun(); ok {
				t.Error("LastRun changed by staging")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Save("x", Stream{}); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Save after Close: %v, want fs.ErrClosed", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}

			s2 := bc.open(t)
			mustEqual(t, "reopened", s2.Snapshot(), want)
			if r, ok := s2.LastRun(); !ok || r != (RunInfo{ID: "run-1", Started: fixedAt}) {
				t.Errorf("LastRun = %+v, %v", r, ok)
			}
			if err := s2.StageRun(RunInfo{ID: "run-2", Started: fixedAt, Finished: true}); err != nil {
				t.Fatal(err)
			}
			if r, _ := s2.LastRun(); r.ID != "run-1" {
				t.Errorf("LastRun after staging = %+v", r)
			}
			if err := s2.StageRun(RunInfo{}); err == nil {
				t.Error("a run without an id was staged")
			}
		})
	}
}

// TestBucketRefusesBadGenerations: a newest generation that is corrupt, from a newer
// extract or another account is refused with the same sentinel as a file, and neither
// it nor anything after it is written.
func TestBucketRefusesBadGenerations(t *testing.T) {
	tests := []struct {
		name, data string
		want       error
		loadOK     bool
	}{
		{"garbage", "\x00\x01", ErrCorrupt, false},
		{"truncated", `{"version":1,"account_id":"1234567_SB1","str`, ErrCorrupt, false},
		{"version 99", `{"version":99,"streams":{}}`, ErrVersion, false},
		{"other account", `{"version":1,"account_id":"7654321","streams":{}}`, ErrAccount, true},
		{"wrong generation", `{"version":1,"streams":{},"generation":7}`, ErrCorrupt, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fileBucket(t)
			s := openBucketT(t, b, BucketOptions{RunID: "old"})
			if err := s.Save("a", Stream{RowsTotal: 1}); err != nil {
				t.Fatal(err)
			}
			s.Close() // generations 1 (claim), 2 (save), 3 (closed)
			ctx := context.Background()
			if err := b.WriteAll(ctx, genKey(4), []byte(tt.data), nil); err != nil {
				t.Fatal(err)
			}
			_, err := OpenBucket(ctx, b, testDisplay, testAccount, BucketOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("OpenBucket: %v, want %v", err, tt.want)
			}
			if tt.want != ErrAccount && !strings.Contains(err.Error(), testDisplay+"/"+genKey(4)) {
				t.Errorf("error %q does not name the generation", err)
			}
			if _, err := LoadBucket(ctx, b, testDisplay); (err == nil) != tt.loadOK {
				t.Errorf("LoadBucket: %v", err)
			}
			mustEqual(t, "generations", gens(t, b), []int64{1, 2, 3, 4})
			if got, _ := b.ReadAll(ctx, genKey(4)); string(got) != tt.data {
				t.Errorf("refused generation rewritten: %q", got)
			}
		})
	}
}

// TestBucketOverlap: a second run is refused while the first holds the state, gets in
// once the first's lease has lapsed, and from then on the first can save nothing.
func TestBucketOverlap(t *testing.T) {
	ctx := context.Background()
	b := fileBucket(t)
	c := &clock{t: fixedAt}
	a := openBucketT(t, b, BucketOptions{RunID: "run-A", Lease: time.Minute, Now: c.Now})
	if err := a.Save("s", Stream{RowsTotal: 1}); err != nil {
		t.Fatal(err)
	}
	c.Add(30 * time.Second)
	_, err := OpenBucket(ctx, b, testDisplay, testAccount, BucketOptions{RunID: "run-B", Lease: time.Minute, Now: c.Now})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("B while A holds the state: %v, want ErrLocked", err)
	}
	for _, frag := range []string{testDisplay, `"run-A"`, "since 2024-11-03T12:00:00Z", "expires at 2024-11-03T12:01:00Z"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error %q does not contain %q", err, frag)
		}
	}
	if err := a.Save("s", Stream{RowsTotal: 2}); err != nil {
		t.Fatalf("A after B was refused: %v", err)
	}

	c.Add(2 * time.Minute) // A went quiet past its lease (a hung run)
	bs := openBucketT(t, b, BucketOptions{RunID: "run-B", Lease: time.Minute, Now: c.Now})
	if st, _ := bs.Stream("s"); st.RowsTotal != 2 {
		t.Fatalf("B took over from %+v", st)
	}
	before := gens(t, b)
	err = a.Save("s", Stream{RowsTotal: 3})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another extract run wrote generation 4") ||
		!strings.Contains(err.Error(), "output files are still valid") {
		t.Fatalf("A after B took over: %v", err)
	}
	if st, _ := a.Stream("s"); st.RowsTotal != 2 {
		t.Errorf("A's contents changed by a failed save: %+v", st)
	}
	if err := a.Flush(); err != nil { // nothing staged: nothing to write
		t.Errorf("Flush with nothing staged: %v", err)
	}
	a.StageRun(RunInfo{ID: "run-A"})
	if err := a.Flush(); !errors.Is(err, ErrLocked) {
		t.Errorf("A's later write: %v, want ErrLocked", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("Close of a store that lost the state: %v", err)
	}
	mustEqual(t, "generations after A's failed writes", gens(t, b), before)
	if err := bs.Save("s", Stream{RowsTotal: 4}); err != nil {
		t.Fatalf("B: %v", err)
	}
	if _, meta := readGen(t, b, 5); meta.RunID != "run-B" || !meta.Open {
		t.Errorf("generation 5 meta %+v", meta)
	}
}

// TestBucketClaimRace: runs that open at the same moment: exactly one holds the state.
func TestBucketClaimRace(t *testing.T) {
	b := fileBucket(t)
	for round := range 5 {
		won := claimAtOnce(t, b, testDisplay, 6, fmt.Sprintf("r%d", round))
		if err := won.Save("s", Stream{RowsTotal: int64(round)}); err != nil {
			t.Fatal(err)
		}
		if err := won.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// claimAtOnce opens the state under b from runs stores at the same moment and returns
// the one that holds it, failing unless exactly one does and the others got ErrLocked.
func claimAtOnce(t *testing.T, b *blob.Bucket, display string, runs int, prefix string) *Store {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		won   []*Store
		start = make(chan struct{})
	)
	for i := range runs {
		wg.Go(func() {
			<-start
			s, err := OpenBucket(context.Background(), b, display, testAccount, BucketOptions{RunID: fmt.Sprintf("%s-%d", prefix, i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, s)
			case !errors.Is(err, ErrLocked):
				t.Errorf("%s-%d: %v", prefix, i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%s: %d runs hold the state, want 1", prefix, len(won))
	}
	return won[0]
}

// TestBucketSaveFault: a save that fails at each step leaves the store's contents as
// they were; on disk there is the old checkpoint or (once the upload completed) the
// new one, and after a crash the next run finds that once the lease lapses.
func TestBucketSaveFault(t *testing.T) {
	for _, tt := range []struct {
		step    string
		hasNext bool
	}{{stepGenUploading, false}, {stepGenWritten, true}} {
		for _, op := range []string{"save", "saveall", "reset"} {
			t.Run(tt.step+"/"+op, func(t *testing.T) {
				b := fileBucket(t)
				c := &clock{t: fixedAt}
				s := openBucketT(t, b, BucketOptions{RunID: "crashy", Now: c.Now})
				if err := s.Save("a", Stream{RowsTotal: 1}); err != nil {
					t.Fatal(err)
				}
				old := s.Snapshot()
				before := gens(t, b)
				var steps []string
				s.SetFaultHook(func(step string) error {
					steps = append(steps, step)
					if step == tt.step {
						return errInjected
					}
					return nil
				})
				var err error
				switch op {
				case "save":
					err = s.Save("a", Stream{RowsTotal: 2})
				case "saveall":
					err = s.SaveAll(map[string]Stream{"a": {RowsTotal: 2}, "b": {RowsTotal: 2}})
				case "reset":
					err = s.Reset("a")
				}
				if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), testDisplay) || !strings.Contains(err.Error(), tt.step) {
					t.Fatalf("%s: %v", op, err)
				}
				mustEqual(t, "steps", steps, []string{stepGenUploading, stepGenWritten}[:slices.Index([]string{stepGenUploading, stepGenWritten}, tt.step)+1])
				mustEqual(t, "contents after a failed save", s.Snapshot(), old)
				wantGens := before
				if tt.hasNext {
					wantGens = append(slices.Clone(before), before[len(before)-1]+1)
				}
				mustEqual(t, "generations", gens(t, b), wantGens)
				abandon(s) // the process dies here

				_, err = OpenBucket(context.Background(), b, testDisplay, testAccount, BucketOptions{Now: c.Now})
				if !errors.Is(err, ErrLocked) {
					t.Fatalf("reopen within the crashed run's lease: %v", err)
				}
				c.Add(3 * time.Minute)
				s2 := openBucketT(t, b, BucketOptions{RunID: "next", Now: c.Now})
				a, ok := s2.Stream("a")
				switch {
				case !tt.hasNext && (!ok || a.RowsTotal != 1):
					t.Errorf("old checkpoint expected, found %+v (%v)", a, ok)
				case tt.hasNext && op == "reset" && ok, tt.hasNext && op != "reset" && a.RowsTotal != 2:
					t.Errorf("new checkpoint expected, found %+v (%v)", a, ok)
				}
				if err := s2.Save("c", Stream{}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestBucketFaultThenRecover: after a fault past the upload the store carries on with
// the next generation rather than mistaking its own for another run's; as with a file,
// the failed save is not in the store's contents, so the next write leaves it out.
func TestBucketFaultThenRecover(t *testing.T) {
	b := fileBucket(t)
	s := openBucketT(t, b, BucketOptions{})
	s.SetFaultHook(func(step string) error {
		if step == stepGenWritten {
			return errInjected
		}
		return nil
	})
	if err := s.Save("a", Stream{RowsTotal: 1}); !errors.Is(err, errInjected) {
		t.Fatal(err)
	}
	s.SetFaultHook(nil)
	if err := s.Save("b", Stream{RowsTotal: 1}); err != nil {
		t.Fatalf("save after a fault: %v", err)
	}
	if f, _ := readGen(t, b, 2); f.Streams["a"].RowsTotal != 1 {
		t.Errorf("the faulted save is not durable: %+v", f)
	}
	f, _ := readGen(t, b, 3)
	mustEqual(t, "streams", slices.Sorted(maps.Keys(f.Streams)), []string{"b"})
}

// TestBucketHeartbeatAndClose: a quiet store renews its claim every third of the lease,
// stops on Close, and Close leaves a closed generation with the same contents.
func TestBucketHeartbeatAndClose(t *testing.T) {
	b := fileBucket(t)
	c := &clock{t: fixedAt}
	s := openBucketT(t, b, BucketOptions{RunID: "hb", Lease: 60 * time.Millisecond, Keep: 100, Now: c.Now})
	if err := s.Save("a", Stream{RowsTotal: 7}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // several ticks, but the fake clock has not moved
	mustEqual(t, "generations without time passing", gens(t, b), []int64{1, 2})
	c.Add(20 * time.Millisecond) // a third of the lease
	deadline := time.Now().Add(5 * time.Second)
	for len(gens(t, b)) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	f, meta := readGen(t, b, 3)
	if !meta.Open || meta.RunID != "hb" || !meta.WrittenAt.Equal(fixedAt.Add(20*time.Millisecond)) || !meta.HeldSince.Equal(fixedAt) || f.Streams["a"].RowsTotal != 7 {
		t.Fatalf("heartbeat generation %+v %+v", meta, f)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n := gens(t, b)
	c.Add(time.Second)
	time.Sleep(50 * time.Millisecond)
	mustEqual(t, "generations after Close", gens(t, b), n)
	f, meta = readGen(t, b, n[len(n)-1])
	if meta.Open || f.Streams["a"].RowsTotal != 7 {
		t.Fatalf("final generation %+v %+v", meta, f)
	}
	// Closed: the next run gets in at once, lease or not.
	openBucketT(t, b, BucketOptions{Lease: time.Hour, Now: c.Now})
}

// TestBucketPrune: old generations are deleted in batches, keeping the newest Keep.
func TestBucketPrune(t *testing.T) {
	b := fileBucket(t)
	s := openBucketT(t, b, BucketOptions{Keep: 3}) // write 1: the claim
	for i := range 10 {
		if err := s.Save("a", Stream{RowsTotal: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Prunes ran after writes 3, 6 and 9, each keeping the three newest.
	mustEqual(t, "generations", gens(t, b), []int64{7, 8, 9, 10, 11})
	s.Close() // write 12
	mustEqual(t, "generations after Close", gens(t, b), []int64{10, 11, 12})
	if f, err := LoadBucket(context.Background(), b, testDisplay); err != nil || f.Streams["a"].RowsTotal != 9 {
		t.Fatalf("LoadBucket %+v, %v", f, err)
	}

	b2 := fileBucket(t)
	s = openBucketT(t, b2, BucketOptions{Keep: 1}) // at least two are kept
	for range 4 {
		s.Save("a", Stream{})
	}
	if g := gens(t, b2); len(g) < 2 {
		t.Fatalf("Keep 1 left %v", g)
	}
}

// A local state file has no generation metadata: its bytes are those of before.
func TestLocalFileHasNoGenerationFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	if err := s.Save("a", Stream{}); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(readFile(t, path), &m); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "keys", slices.Sorted(maps.Keys(m)), []string{"account_id", "streams", "updated_at", "version"})
}
