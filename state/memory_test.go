package state

import (
	"errors"
	"testing"
	"time"
)

func TestOpenMemorySavesThroughCallback(t *testing.T) {
	wm := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	initial := &File{Streams: map[string]Stream{"customer": {Watermark: wm, RowsTotal: 3}}}
	var saved []File
	fail := false
	s, err := OpenMemory(initial, "123", t.TempDir(), func(f File) error {
		if fail {
			return errors.New("stdout closed")
		}
		saved = append(saved, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stream("customer"); !st.Watermark.Equal(wm) || st.RowsTotal != 3 {
		t.Fatalf("initial bookmark %+v", st)
	}
	if err := s.Save("task", Stream{Watermark: wm, RowsTotal: 5}); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || saved[0].Streams["task"].RowsTotal != 5 || saved[0].Streams["customer"].RowsTotal != 3 || saved[0].AccountID != "123" {
		t.Fatalf("saved %+v", saved)
	}
	fail = true
	if err := s.Save("task", Stream{Watermark: wm, RowsTotal: 9}); err == nil {
		t.Fatal("a save whose callback failed succeeded")
	}
	if st, _ := s.Stream("task"); st.RowsTotal != 5 {
		t.Fatalf("a failed save was applied: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMemoryRefuses(t *testing.T) {
	tests := []struct {
		name string
		f    *File
		want error
	}{
		{"another account", &File{AccountID: "999"}, ErrAccount},
		{"newer version", &File{Version: Version + 1}, ErrVersion},
		{"bad bookmark", &File{Streams: map[string]Stream{"customer": {RowsTotal: -1}}}, ErrCorrupt},
	}
	for _, tc := range tests {
		if _, err := OpenMemory(tc.f, "123", "", nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestLineIndexHolds(t *testing.T) {
	s, err := OpenMemory(nil, "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := s.LineIndex("customeraddressbook")
	w, err := x.Create(1, IndexPosition{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		st   Stream
		want bool
	}{{Stream{}, true}, {Stream{IndexGen: 1}, true}, {Stream{IndexGen: 2}, false}, {Stream{IndexGen: 1, Scan: &ScanProgress{Gen: 3}}, false}} {
		if got, err := x.Holds(tc.st); err != nil || got != tc.want {
			t.Errorf("Holds(%+v) = %v, %v; want %v", tc.st, got, err, tc.want)
		}
	}
}
