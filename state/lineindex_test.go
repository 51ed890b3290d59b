package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"
)

// indexBackend is a line index location for the tests: a directory or a bucket.
type indexBackend struct {
	name string
	make func(t *testing.T, stream string) *LineIndex
	// raw reads and replaces generation gen's bytes.
	read  func(t *testing.T, x *LineIndex, gen int64) []byte
	write func(t *testing.T, x *LineIndex, gen int64, data []byte)
}

func indexBackends() []indexBackend {
	return []indexBackend{
		{
			name: "local",
			make: func(t *testing.T, stream string) *LineIndex {
				return &LineIndex{dir: filepath.Join(t.TempDir(), "idx"), stream: stream}
			},
			read: func(t *testing.T, x *LineIndex, gen int64) []byte {
				b, err := os.ReadFile(x.name(gen, "idx"))
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			write: func(t *testing.T, x *LineIndex, gen int64, data []byte) {
				os.WriteFile(x.name(gen, "idx"), data, 0o600)
			},
		},
		{
			name: "bucket",
			make: func(t *testing.T, stream string) *LineIndex {
				return &LineIndex{stream: stream, bucket: &bucketIndex{b: fileBucket(t), ctx: context.Background(), display: testDisplay}}
			},
			read: func(t *testing.T, x *LineIndex, gen int64) []byte {
				b, err := x.bucket.b.ReadAll(context.Background(), indexKey(x.stream, gen, "idx"))
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			write: func(t *testing.T, x *LineIndex, gen int64, data []byte) {
				ctx := context.Background()
				x.bucket.b.Delete(ctx, indexKey(x.stream, gen, "idx"))
				if err := x.bucket.b.WriteAll(ctx, indexKey(x.stream, gen, "idx"), data, nil); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
}

// bucketKeys lists every object under the index prefix, without it.
func bucketKeys(t *testing.T, b *blob.Bucket) []string {
	t.Helper()
	var out []string
	it := b.List(&blob.ListOptions{Prefix: indexPrefix})
	for {
		obj, err := it.Next(context.Background())
		if err != nil {
			return out
		}
		out = append(out, strings.TrimPrefix(obj.Key, indexPrefix))
	}
}

func entries(n int) []LineEntry {
	var out []LineEntry
	for i := range n {
		out = append(out, LineEntry{LineKey{int64(i/3 + 1), int64(1000 + i)}, uint64(i*7919 + 1)})
	}
	return out
}

func readAll(t *testing.T, x *LineIndex, gen int64) []LineEntry {
	t.Helper()
	r, err := x.Open(gen)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []LineEntry
	for {
		e, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

// TestLineIndexRoundTripAndResume: a generation written in one go, or across a crash
// resumed from a checkpoint (bytes written after it are cut off), reads back exactly.
func TestLineIndexRoundTripAndResume(t *testing.T) {
	for _, ib := range indexBackends() {
		t.Run(ib.name, func(t *testing.T) { testLineIndexRoundTripAndResume(t, ib) })
	}
}

func testLineIndexRoundTripAndResume(t *testing.T, ib indexBackend) {
	x := ib.make(t, "customeraddressbook")
	want := entries(5000)
	w, err := x.Create(1, IndexPosition{})
	if err != nil {
		t.Fatal(err)
	}
	var pos IndexPosition
	for i, e := range want {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
		if i == 999 || i == 2999 {
			if pos, err = w.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if wantChunks := map[string]int{"local": 0, "bucket": 2}[ib.name]; pos.Chunks != wantChunks || pos.Entries != 3000 {
		t.Fatalf("position %+v, want %d chunks", pos, wantChunks)
	}
	// A crash: what came after the checkpoint was written but is not named by it.
	w.Sync()
	w.Abort()
	w, err = x.Create(1, pos)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(want[10]); err == nil {
		t.Fatal("a key out of order was accepted after the resume")
	}
	for _, e := range want[3000:] {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, x, 1); !slices.Equal(got, want) {
		t.Fatalf("read %d entries, want %d (equal: false)", len(got), len(want))
	}
	size := len(ib.read(t, x, 1))
	t.Logf("%d entries: %d bytes (%.1f bytes each)", len(want), size, float64(size)/float64(len(want)))
	if per := float64(size) / float64(len(want)); per > 16 {
		t.Errorf("%.1f bytes per entry", per)
	}
	if x.bucket != nil {
		mustEqual(t, "objects after Commit", bucketKeys(t, x.bucket.b), []string{"customeraddressbook.1.idx"})
	}
	if got := readAll(t, x, 0); len(got) != 0 {
		t.Fatal("generation 0 is not empty")
	}
}

// TestLineIndexRefusesDamage: a generation cut short or altered is an error, never a
// silently smaller index (which would lose tombstones).
func TestLineIndexRefusesDamage(t *testing.T) {
	for _, ib := range indexBackends() {
		t.Run(ib.name, func(t *testing.T) { testLineIndexRefusesDamage(t, ib) })
	}
}

func testLineIndexRefusesDamage(t *testing.T, ib indexBackend) {
	x := ib.make(t, "s")
	w, _ := x.Create(3, IndexPosition{})
	for _, e := range entries(100) {
		w.Add(e)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	good := ib.read(t, x, 3)
	for name, bad := range map[string][]byte{
		"truncated":     good[:len(good)-30],
		"no trailer":    good[:len(good)-17],
		"flipped byte":  append(append(slices.Clone(good[:200]), good[200]^0x40), good[201:]...),
		"not an index":  []byte("hello"),
		"extra entries": append(slices.Clone(good[:len(good)-17]), good[len(indexMagic):len(indexMagic)+20]...),
	} {
		ib.write(t, x, 3, bad)
		r, err := x.Open(3)
		for err == nil {
			var ok bool
			_, ok, err = r.Next()
			if !ok && err == nil {
				t.Errorf("%s: read to the end without an error", name)
				break
			}
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
		if r != nil {
			r.Close()
		}
	}
}

// TestJournalAndPrune: journal appends survive a torn last record; Prune keeps only the
// named generation's files.
func TestJournalAndPrune(t *testing.T) {
	x := &LineIndex{dir: filepath.Join(t.TempDir(), "idx"), stream: "s"}
	if err := x.Journal(2, []LineKey{{5, 50}, {1, 10}}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(x.name(2, "journal"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{1, 2, 3}) // a torn append
	f.Close()
	if err := x.Journal(2, []LineKey{{1, 10}, {3, 30}}); err != nil {
		t.Fatal(err)
	}
	keys, err := x.JournalKeys(2)
	if err != nil || !slices.Equal(keys, []LineKey{{1, 10}, {3, 30}, {5, 50}}) {
		t.Fatalf("journal = %v, %v", keys, err)
	}
	for _, gen := range []int64{1, 2, 4} {
		w, _ := x.Create(gen, IndexPosition{})
		if gen != 4 {
			w.Commit()
		} else {
			w.Sync()
			w.Abort()
		}
	}
	x.Journal(1, []LineKey{{1, 1}})
	other := &LineIndex{dir: x.dir, stream: "s2"}
	other.Journal(1, []LineKey{{1, 1}})
	if err := x.Prune(2, 4); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(x.dir)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if want := []string{"s.2.idx", "s.2.journal", "s.4.partial", "s2.1.journal"}; !slices.Equal(got, want) {
		t.Fatalf("after Prune: %v, want %v", got, want)
	}
}

// TestBucketJournalAndPrune: on a bucket each Journal call is one new object, read back
// in order (a torn record ignored); Prune keeps only the named generation's objects and
// the named partial's chunks.
func TestBucketJournalAndPrune(t *testing.T) {
	b := fileBucket(t)
	ctx := context.Background()
	x := &LineIndex{stream: "s", bucket: &bucketIndex{b: b, ctx: ctx, display: testDisplay}}
	if err := x.Journal(2, []LineKey{{5, 50}, {1, 10}}); err != nil {
		t.Fatal(err)
	}
	// Another LineIndex of the same stream (the next run) continues the numbering.
	y := &LineIndex{stream: "s", bucket: &bucketIndex{b: b, ctx: ctx, display: testDisplay}}
	if err := y.Journal(2, []LineKey{{1, 10}, {3, 30}}); err != nil {
		t.Fatal(err)
	}
	if err := x.Journal(2, []LineKey{{9, 90}}); err != nil { // x's cached number is taken: it lists again
		t.Fatal(err)
	}
	b.WriteAll(ctx, indexKey("s", 2, numbered("journal", 4)), append(encodeJournal([]LineKey{{7, 70}}), 1, 2, 3), nil)
	keys, err := x.JournalKeys(2)
	if err != nil || !slices.Equal(keys, []LineKey{{1, 10}, {3, 30}, {5, 50}, {7, 70}, {9, 90}}) {
		t.Fatalf("journal = %v, %v", keys, err)
	}
	if keys, err := x.JournalKeys(7); err != nil || keys != nil {
		t.Fatalf("missing journal = %v, %v", keys, err)
	}
	for _, gen := range []int64{1, 2, 4} {
		w, err := x.Create(gen, IndexPosition{})
		if err != nil {
			t.Fatal(err)
		}
		w.Add(LineEntry{LineKey{1, 1}, 1})
		if gen != 4 {
			w.Commit()
		} else {
			w.Sync()
			w.Abort()
		}
	}
	x.Journal(1, []LineKey{{1, 1}})
	other := &LineIndex{stream: "s2", bucket: x.bucket}
	other.Journal(1, []LineKey{{1, 1}})
	if err := x.Prune(2, 4); err != nil {
		t.Fatal(err)
	}
	want := []string{"s.2.idx", "s.2.journal.000000000001", "s.2.journal.000000000002", "s.2.journal.000000000003",
		"s.2.journal.000000000004", "s.4.partial.000000000001", "s2.1.journal.000000000001"}
	mustEqual(t, "after Prune", bucketKeys(t, b), want)
}

// TestBucketIndexResumeChecks: a resume drops chunks synced after the checkpoint, and
// refuses a partial generation that lacks what its checkpoint names; a fresh start
// drops an uncommitted run's leftovers.
func TestBucketIndexResumeChecks(t *testing.T) {
	b := fileBucket(t)
	x := &LineIndex{stream: "s", bucket: &bucketIndex{b: b, ctx: context.Background(), display: testDisplay}}
	w, _ := x.Create(1, IndexPosition{})
	all := entries(30)
	var pos IndexPosition
	for i, e := range all {
		w.Add(e)
		if i%10 == 9 {
			p, err := w.Sync()
			if err != nil {
				t.Fatal(err)
			}
			if i == 9 {
				pos = p
			}
		}
	}
	w.Abort()
	mustEqual(t, "chunks", bucketKeys(t, b), []string{"s.1.partial.000000000001", "s.1.partial.000000000002", "s.1.partial.000000000003"})
	bad := pos
	bad.Bytes++
	if _, err := x.Create(1, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("resume at a position the chunks do not hold: %v", err)
	}
	bad = pos
	bad.Chunks = 5
	if _, err := x.Create(1, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("resume with missing chunks: %v", err)
	}
	w, err := x.Create(1, pos)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "chunks after resume", bucketKeys(t, b), []string{"s.1.partial.000000000001"})
	for _, e := range all[10:] {
		w.Add(e)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, x, 1); !slices.Equal(got, all) {
		t.Fatalf("read %v", got)
	}
	// A run that committed generation 1 crashed before saving the state: the next run
	// starts generation 1 afresh over it.
	w, err = x.Create(1, IndexPosition{})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(all[0])
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, x, 1); !slices.Equal(got, all[:1]) {
		t.Fatalf("read %v", got)
	}
}

// TestStoreLineIndexOnBucket: a bucket store's line index lives on the bucket.
func TestStoreLineIndexOnBucket(t *testing.T) {
	b := fileBucket(t)
	s := openBucketT(t, b, BucketOptions{})
	x := s.LineIndex("s")
	if x.bucket == nil {
		t.Fatal("a bucket store's line index is not on the bucket")
	}
	if err := x.Journal(1, []LineKey{{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists(context.Background(), indexKey("s", 1, numbered("journal", 1))); !ok {
		t.Fatal("journal object missing")
	}
}

// TestCommittedVouchesOnlyForItsOwnStart: Committed reports a committed generation, and
// starting that generation afresh forgets it, so a checkpoint of the new start can never
// be taken as finished by a leftover of an earlier one.
func TestCommittedVouchesOnlyForItsOwnStart(t *testing.T) {
	for _, ib := range indexBackends() {
		t.Run(ib.name, func(t *testing.T) {
			x := ib.make(t, "book")
			committed := func() bool {
				t.Helper()
				ok, err := x.Committed(2)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if committed() {
				t.Fatal("a generation never written is committed")
			}
			w, err := x.Create(2, IndexPosition{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries(3) {
				if err := w.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			if committed() {
				t.Fatal("a generation in progress is committed")
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			if !committed() {
				t.Fatal("a committed generation is not")
			}
			w, err = x.Create(2, IndexPosition{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if committed() {
				t.Fatal("a fresh start of the generation still shows the earlier commit")
			}
		})
	}
}
