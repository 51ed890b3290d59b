package pipeline

import (
	"slices"
	"testing"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

// TestProgressReportsEveryStream: the hook sees each stream's rows and pages grow, an
// expected total from NetSuite's totalResults before the stream ends, and a last event
// that agrees with the run's result.
func TestProgressReportsEveryStream(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(3000), Seed: 3, FixturesDir: fixtures(t)})
	var events []ProgressEvent
	res := h.mustRun(connector.StreamNames, Options{Progress: func(ev ProgressEvent) { events = append(events, ev) }})
	for _, s := range res.Streams {
		var mine []ProgressEvent
		for _, ev := range events {
			if ev.Stream == s.Stream {
				mine = append(mine, ev)
			}
		}
		if len(mine) == 0 {
			t.Fatalf("%s: no progress events", s.Stream)
		}
		last := mine[len(mine)-1]
		if !last.Done || last.Rows != s.Rows+s.Deleted {
			t.Errorf("%s: last event %+v, want done with %d rows", s.Stream, last, s.Rows+s.Deleted)
		}
		if !slices.IsSortedFunc(mine, func(a, b ProgressEvent) int { return int(a.Rows - b.Rows) }) {
			t.Errorf("%s: rows went backwards: %+v", s.Stream, mine)
		}
		if _, child := connector.ChildOf(s.Stream); child {
			continue
		}
		if want := s.Rows/int64(connector.PageSize) + 1; last.Pages < want {
			t.Errorf("%s: %d pages, want at least %d", s.Stream, last.Pages, want)
		}
		if last.Expected != s.Rows {
			t.Errorf("%s: expected %d rows at the end, wrote %d", s.Stream, last.Expected, s.Rows)
		}
		if first := mine[0]; first.Expected < s.Rows/2 || first.Expected > 2*s.Rows {
			t.Errorf("%s: first estimate %d, far from %d rows", s.Stream, first.Expected, s.Rows)
		}
	}
}

func TestExpectation(t *testing.T) {
	type step struct {
		slot       int
		rows, left int64
		want       int64
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"head only", []step{{-1, 1000, 4000, 5000}, {-1, 1000, 3000, 5000}, {-1, 3000, 0, 5000}}},
		{"unknown", []step{{-1, 1000, -1, -1}}},
		{"sliced", []step{{-1, 1000, 9000, 10000}, {0, 1000, 3000, 5000}, {1, 1000, 4000, 10000}, {0, 3000, 0, 10000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e expectation
			for i, s := range tc.steps {
				if got := e.batch(s.slot, s.rows, s.left); got != s.want {
					t.Fatalf("step %d: estimate %d, want %d", i, got, s.want)
				}
			}
		})
	}
}
