package state

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

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
	x := &LineIndex{dir: filepath.Join(t.TempDir(), "idx"), stream: "customeraddressbook"}
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
		if i == 2999 {
			if pos, err = w.Sync(); err != nil {
				t.Fatal(err)
			}
		}
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
	fi, _ := os.Stat(x.name(1, "idx"))
	t.Logf("%d entries: %d bytes (%.1f bytes each)", len(want), fi.Size(), float64(fi.Size())/float64(len(want)))
	if per := float64(fi.Size()) / float64(len(want)); per > 16 {
		t.Errorf("%.1f bytes per entry", per)
	}
	if got := readAll(t, x, 0); len(got) != 0 {
		t.Fatal("generation 0 is not empty")
	}
}

// TestLineIndexRefusesDamage: a generation cut short or altered is an error, never a
// silently smaller index (which would lose tombstones).
func TestLineIndexRefusesDamage(t *testing.T) {
	x := &LineIndex{dir: filepath.Join(t.TempDir(), "idx"), stream: "s"}
	w, _ := x.Create(3, IndexPosition{})
	for _, e := range entries(100) {
		w.Add(e)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(x.name(3, "idx"))
	for name, bad := range map[string][]byte{
		"truncated":     good[:len(good)-30],
		"no trailer":    good[:len(good)-17],
		"flipped byte":  append(append(slices.Clone(good[:200]), good[200]^0x40), good[201:]...),
		"not an index":  []byte("hello"),
		"extra entries": append(slices.Clone(good[:len(good)-17]), good[len(indexMagic):len(indexMagic)+20]...),
	} {
		os.WriteFile(x.name(3, "idx"), bad, 0o600)
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
