package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// The repeated hour of America/Los_Angeles on 3 November 2024: 01:00–01:59 happens at
// PDT (08:00–08:59 UTC), then again at PST (09:00–09:59 UTC).
func pdt(m, s int) time.Time { return time.Date(2024, 11, 3, 8, m, s, 0, time.UTC) }
func pst(m, s int) time.Time { return time.Date(2024, 11, 3, 9, m, s, 0, time.UTC) }

func losAngeles(t testing.TB) *time.Location {
	t.Helper()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	return la
}

// maxLookups is the record API budget of one overlap of n rows: a binary search over the
// n+1 possible splits, plus one.
func maxLookups(n int) int { return bits.Len(uint(n)) + 1 } // ceil(log2(n+1)) + 1

// ---- splitOverlap: the pure split logic ----

// keysAt builds the keys of rows read in (instant, id) order, and an oracle that answers
// with their true instants.
func keysAt(t testing.TB, at []time.Time, ids []int64) ([]overlapRow, map[int64]time.Time) {
	t.Helper()
	la := losAngeles(t)
	rows := make([]overlapRow, len(at))
	truth := map[int64]time.Time{}
	for i := range at {
		wall := at[i].In(la).Format(schema.DateTimeLayout)
		first, last, ok := schema.WallInstants(wall, la)
		if !ok || first.Equal(last) {
			t.Fatalf("%v is not in a repeated hour", at[i])
		}
		rows[i] = overlapRow{wall: wall, id: ids[i], first: first, last: last}
		truth[ids[i]] = at[i]
	}
	return rows, truth
}

type oracle struct {
	truth map[int64]time.Time
	calls int
	err   error                     // returned instead of an answer
	shift func(time.Time) time.Time // how the API renders an instant
}

func (o *oracle) lookup(_ context.Context, r overlapRow) (time.Time, error) {
	o.calls++
	if o.err != nil {
		return time.Time{}, o.err
	}
	at, ok := o.truth[r.id]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: no record %d", connector.ErrConfig, r.id)
	}
	if o.shift != nil {
		at = o.shift(at)
	}
	return at, nil
}

func TestSplitOverlap(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		at      []time.Time
		ids     []int64
		split   int
		lookups bool // whether the record API must be asked
	}{
		{"empty", nil, nil, 0, false},
		{"one row, first occurrence", []time.Time{pdt(10, 0)}, []int64{1}, 1, true},
		{"one row, second occurrence", []time.Time{pst(10, 0)}, []int64{1}, 0, true},
		{"second occurrence only", []time.Time{pst(5, 0), pst(10, 0), pst(20, 0)}, []int64{1, 2, 3}, 0, true},
		{"first occurrence only", []time.Time{pdt(5, 0), pdt(10, 0), pdt(20, 0)}, []int64{1, 2, 3}, 3, true},
		{"both, no drop", []time.Time{pdt(10, 0), pst(20, 0)}, []int64{1, 2}, 1, true},
		{"both, wall drops", []time.Time{pdt(10, 0), pdt(50, 0), pst(5, 0), pst(20, 0)}, []int64{1, 2, 3, 4}, 2, false},
		{"equal walls, id drops", []time.Time{pdt(30, 0), pst(30, 0)}, []int64{9, 3}, 1, false},
		{"equal walls, id rises", []time.Time{pdt(30, 0), pst(30, 0)}, []int64{3, 9}, 1, true},
		{"equal walls in one occurrence", []time.Time{pdt(30, 0), pdt(30, 0), pst(40, 0)}, []int64{3, 9, 10}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, truth := keysAt(t, tc.at, tc.ids)
			o := &oracle{truth: truth}
			got, err := splitOverlap(ctx, rows, o.lookup)
			if err != nil || got.at != tc.split || !got.exact {
				t.Fatalf("split = %+v, %v; want %d exactly", got, err, tc.split)
			}
			if (o.calls > 0) != tc.lookups || o.calls > maxLookups(len(rows))-1 {
				t.Errorf("%d record lookups for %d rows (lookups expected: %v)", o.calls, len(rows), tc.lookups)
			}
		})
	}
}

// TestSplitOverlapRandom: for random overlaps of up to 3,000 rows the split is exact and
// costs at most ceil(log2(n+1)) lookups, none when the keys drop.
func TestSplitOverlapRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n := rng.IntN(3000)
		if trial < 20 {
			n = trial
		}
		s := rng.IntN(n + 1)
		var at []time.Time
		for i := 0; i < n; i++ {
			base := pdt(0, 0)
			if i >= s {
				base = pst(0, 0)
			}
			at = append(at, base.Add(time.Duration(rng.IntN(3600))*time.Second))
		}
		// Sort each occurrence; ids are unique, so (instant, id) is a total order.
		ids := rng.Perm(n)
		type r struct {
			at time.Time
			id int64
		}
		all := make([]r, n)
		for i := range all {
			all[i] = r{at[i], int64(ids[i] + 1)}
		}
		sort.Slice(all, func(i, j int) bool {
			return all[i].at.Before(all[j].at) || all[i].at.Equal(all[j].at) && all[i].id < all[j].id
		})
		at, idList := make([]time.Time, n), make([]int64, n)
		for i, x := range all {
			at[i], idList[i] = x.at, x.id
		}
		rows, truth := keysAt(t, at, idList)
		drops := 0
		for i := 1; i < n; i++ {
			if rows[i].before(rows[i-1]) {
				drops++
			}
		}
		o := &oracle{truth: truth}
		if trial%2 == 1 {
			o.shift = func(t time.Time) time.Time { return t.Truncate(time.Minute) } // minute precision
		}
		got, err := splitOverlap(context.Background(), rows, o.lookup)
		if err != nil || !got.exact || got.at != s {
			t.Fatalf("trial %d (n=%d): split = %+v, %v; want %d", trial, n, got, err, s)
		}
		if drops > 1 {
			t.Fatalf("trial %d: %d drops", trial, drops)
		}
		if (drops == 1 && o.calls != 0) || o.calls > maxLookups(n)-1 {
			t.Fatalf("trial %d (n=%d, drops %d): %d lookups", trial, n, drops, o.calls)
		}
	}
}

func TestSplitOverlapFailures(t *testing.T) {
	ctx := context.Background()
	rows, truth := keysAt(t, []time.Time{pdt(5, 0), pdt(10, 0), pst(20, 0), pst(40, 0)}, []int64{1, 2, 3, 4})

	t.Run("record API unavailable: all read as the earlier instant", func(t *testing.T) {
		for _, class := range []error{connector.ErrConfig, connector.ErrData} {
			o := &oracle{truth: truth, err: fmt.Errorf("%w: refused", class)}
			got, err := splitOverlap(ctx, rows, o.lookup)
			if err != nil || got.exact || got.at != len(rows) || !strings.Contains(got.why, "refused") || o.calls != 1 {
				t.Errorf("%v: split = %+v, %v after %d lookups", class, got, err, o.calls)
			}
		}
	})
	t.Run("record API failing: the error stops the read", func(t *testing.T) {
		for _, class := range []error{connector.ErrTransient, connector.ErrAuth, connector.ErrInterrupted} {
			o := &oracle{truth: truth, err: fmt.Errorf("%w: down", class)}
			if _, err := splitOverlap(ctx, rows, o.lookup); !errors.Is(err, class) {
				t.Errorf("err = %v, want %v", err, class)
			}
		}
	})
	t.Run("record changed: neither instant", func(t *testing.T) {
		o := &oracle{truth: truth, shift: func(time.Time) time.Time { return time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC) }}
		var mm *recordMismatch
		if _, err := splitOverlap(ctx, rows, o.lookup); !errors.As(err, &mm) || !strings.Contains(err.Error(), "neither") {
			t.Errorf("err = %v, want a mismatch", err)
		}
	})
	t.Run("a drop decides without the record API", func(t *testing.T) {
		dropped, _ := keysAt(t, []time.Time{pdt(5, 0), pdt(30, 0), pst(10, 0)}, []int64{1, 2, 3})
		o := &oracle{err: errors.New("must not be called")}
		if got, err := splitOverlap(ctx, dropped, o.lookup); err != nil || !got.exact || got.at != 2 || o.calls != 0 {
			t.Errorf("split = %+v, %v after %d lookups", got, err, o.calls)
		}
	})
	t.Run("two drops: out of order", func(t *testing.T) {
		bad, _ := keysAt(t, []time.Time{pdt(30, 0), pdt(10, 0), pst(40, 0), pst(5, 0)}, []int64{1, 2, 3, 4})
		var re *rereadError
		if _, err := splitOverlap(ctx, bad, (&oracle{}).lookup); !errors.As(err, &re) || re.class != connector.ErrData {
			t.Errorf("err = %v, want a reread classed as a data error", err)
		}
	})
	t.Run("a repeated key: out of order", func(t *testing.T) {
		bad, _ := keysAt(t, []time.Time{pdt(10, 0), pdt(10, 0)}, []int64{1, 1})
		var re *rereadError
		if _, err := splitOverlap(ctx, bad, (&oracle{}).lookup); !errors.As(err, &re) {
			t.Errorf("err = %v, want a reread", err)
		}
	})
}

// ---- end to end, against the fake NetSuite ----

type stamp struct {
	at time.Time
	id int64
}

// overlapHarness stamps task rows at the given instants (via the fake's clock) and sets
// NetSuite's clock to the next day; setClock moves it.
func overlapHarness(t *testing.T, opts netsuitetest.Options, stamps []stamp) (h *harness, setClock func(time.Time)) {
	t.Helper()
	var mu sync.Mutex
	clock := time.Date(2024, 11, 3, 6, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	setClock = func(t time.Time) { mu.Lock(); defer mu.Unlock(); clock = t }
	h = newHarness(t, opts)
	for _, s := range stamps {
		setClock(s.at)
		h.srv.Upsert(connector.Task, netsuitetest.Row{"id": s.id, "title": fmt.Sprint("t", s.id)})
	}
	setClock(time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC))
	h.srv.ResetStats()
	return h, setClock
}

// assertCursorsExact: every record is in the output exactly once, and its cursor is the
// instant NetSuite holds — exactly, not either instant of its wall time.
func assertCursorsExact(t *testing.T, h *harness, stream string) {
	t.Helper()
	got, total := h.outputRows(stream)
	truth := h.srv.Truth(stream)
	if len(got) != len(truth) || total != len(truth) {
		t.Errorf("%s: %d rows (%d distinct ids) in the output, %d in NetSuite", stream, total, len(got), len(truth))
	}
	bad := 0
	for _, want := range truth {
		id := want["id"].(int64)
		row, ok := got[id]
		if !ok {
			t.Errorf("%s id %d missing", stream, id)
			continue
		}
		g, w := row["lastmodifieddate"].(time.Time), want["lastmodifieddate"].(time.Time)
		if !g.Equal(w) {
			if bad++; bad <= 5 {
				t.Errorf("%s id %d: lastmodifieddate %s, NetSuite %s (wall %s)", stream, id,
					g.Format(time.RFC3339), w.Format(time.RFC3339), w.In(h.loc).Format(schema.DateTimeLayout))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d cursors off", stream, bad)
	}
}

// ramp is n rows a second apart from start with ids from firstID up.
func ramp(start time.Time, n int, firstID int64) []stamp {
	out := make([]stamp, n)
	for i := range out {
		out[i] = stamp{at: start.Add(time.Duration(i) * time.Second), id: firstID + int64(i)}
	}
	return out
}

func TestRepeatedHourCursorsAreExact(t *testing.T) {
	la := losAngeles(t)
	before := stamp{time.Date(2024, 11, 3, 7, 30, 0, 0, time.UTC), 100_000} // 00:30 PDT
	after := stamp{time.Date(2024, 11, 3, 11, 0, 0, 0, time.UTC), 100_001}  // 03:00 PST
	concat := func(parts ...[]stamp) []stamp {
		var out []stamp
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		stamps  []stamp
		inHour  int  // rows in the repeated hour
		lookups bool // whether the record API is needed
	}{
		{"second occurrence only", []stamp{before, {pst(5, 0), 1}, {pst(10, 0), 2}, {pst(20, 0), 3}, after}, 3, true},
		{"first occurrence only", []stamp{before, {pdt(5, 0), 1}, {pdt(10, 0), 2}, after}, 2, true},
		{"PDT 01:10 then PST 01:20", []stamp{before, {pdt(10, 0), 1}, {pst(20, 0), 2}, after}, 2, true},
		{"equal walls, ids falling", []stamp{{pdt(30, 0), 9}, {pst(30, 0), 3}}, 2, false},
		{"equal walls, ids rising", []stamp{{pdt(30, 0), 3}, {pst(30, 0), 9}}, 2, true},
		{"many rows, visible drop", concat([]stamp{before}, ramp(pdt(0, 0), 300, 1), ramp(pst(0, 0), 300, 1000), []stamp{after}), 600, false},
		{"1,500 rows, no drop, split on page 1", concat(ramp(pdt(0, 0), 600, 1), ramp(pst(10, 0), 900, 601)), 1500, true},
		{"1,500 rows, no drop, split on page 2", concat(ramp(pdt(0, 0), 1300, 1), ramp(pst(22, 0), 200, 1301)), 1500, true},
		{"2,100 rows, second occurrence only", ramp(pst(0, 0), 2100, 1), 2100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := overlapHarness(t, netsuitetest.Options{}, tc.stamps)
			logs := &syncBuffer{}
			res := h.mustRun([]string{connector.Task}, Options{Location: la, FileRows: 1000, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			assertCursorsExact(t, h, connector.Task)
			h.assertMatchesTruth(connector.Task)
			calls := h.srv.Stats().RecordRequests
			if (calls > 0) != tc.lookups || calls > maxLookups(tc.inHour) {
				t.Errorf("%d record API requests for %d rows in the repeated hour (needed: %v, at most %d)", calls, tc.inHour, tc.lookups, maxLookups(tc.inHour))
			}
			if s := res.Streams[0]; s.Rows != int64(len(tc.stamps)) {
				t.Errorf("wrote %d rows, want %d", s.Rows, len(tc.stamps))
			}
			if strings.Contains(logs.String(), "may be off") {
				t.Errorf("warned although the instants are exact:\n%s", logs)
			}
			// Both phases page the hour at most once each.
			pages := (tc.inHour + connector.PageSize - 1) / connector.PageSize
			if q := h.srv.Stats().SuiteQLRequests[connector.Task]; q > 2*pages+3 {
				t.Errorf("%d task queries for %d rows in the repeated hour", q, tc.inHour)
			}
		})
	}
}

// TestRepeatedHourKeyQuery: past its first page, phase 1 reads only the key columns, and
// the deletions' filter stays on; deletions (no record API) with a visible drop are exact.
func TestRepeatedHourKeyQuery(t *testing.T) {
	la := losAngeles(t)
	var mu sync.Mutex
	clock := time.Date(2024, 11, 3, 6, 0, 0, 0, time.UTC)
	h := newHarness(t, netsuitetest.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	for id := int64(1); id <= 1200; id++ {
		h.srv.Upsert(connector.Contact, netsuitetest.Row{"id": id})
	}
	// Deleted at PDT 01:00:00… then PST 01:00:00…: the deleteddate wall time drops.
	for id := int64(1); id <= 1200; id++ {
		if id <= 700 {
			set(pdt(0, 0).Add(time.Duration(id) * time.Second))
		} else {
			set(pst(0, 0).Add(time.Duration(id-700) * time.Second))
		}
		h.srv.Delete(connector.Contact, id)
	}
	set(time.Date(2024, 11, 3, 11, 0, 0, 0, time.UTC))
	h.srv.Upsert(connector.Contact, netsuitetest.Row{"id": int64(5000)}) // one record left, after the hour
	set(time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC))
	res := h.mustRun([]string{connector.Contact}, Options{Location: la})
	if s := res.Streams[0]; s.Deleted != 1200 || s.Rows != 1 {
		t.Fatalf("result %+v", s)
	}
	if n := h.srv.Stats().RecordRequests; n != 0 {
		t.Errorf("%d record API requests; deletions have none and the drop decides", n)
	}
	sawKeys := false
	for _, q := range h.srv.Stats().Queries {
		if q.Table == "deletedrecord" && q.Offset > 0 && strings.HasPrefix(q.Query, "SELECT deletedrecord.recordid, TO_CHAR(deletedrecord.deleteddate") {
			sawKeys = true
			if !strings.Contains(q.Query, "deletedrecord.type IN (") || strings.Contains(q.Query, "deletedrecord.type,") {
				t.Errorf("key query %s", q.Query)
			}
		}
	}
	if !sawKeys {
		t.Errorf("no key-only query was sent for the second page of the repeated hour")
	}
	truth := map[int64]time.Time{}
	for _, r := range h.srv.Truth("deletedrecord") {
		truth[r["recordid"].(int64)] = r["deleteddate"].(time.Time)
	}
	files, _ := sinktest.Glob(h.out, connector.Contact, "*.parquet")
	tombstones := 0
	for _, f := range files {
		for _, r := range readParquet(t, f) {
			if r[connector.DeletedColumn] != true {
				continue
			}
			tombstones++
			id := r["id"].(int64)
			if got := r["lastmodifieddate"].(time.Time); !got.Equal(truth[id]) {
				t.Errorf("tombstone %d at %s, deleted at %s", id, got.Format(time.RFC3339), truth[id].Format(time.RFC3339))
			}
		}
	}
	if tombstones != 1200 {
		t.Errorf("%d tombstones", tombstones)
	}
}

// syncBuffer is a log sink that streams may write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// plainSource hides the client's record API, like a Source that does not have one.
type plainSource struct{ Source }

// runSource is harness.run with another Source.
func (h *harness) runSource(src Source, streams []string, opts Options) (Result, error) {
	h.t.Helper()
	st, err := state.Open(h.statePath, account)
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	out, err := sink.New(context.Background(), sink.Options{Dir: h.out, Format: h.format, RunID: sinktest.RunID(), RunStart: time.Now()})
	if err != nil {
		h.t.Fatal(err)
	}
	opts.Streams = streams
	return (&Runner{Source: src, Sink: out, State: st, Opts: opts}).Run(context.Background())
}

// TestRepeatedHourWithoutRecordAPI: when the record API cannot be asked, the run still
// completes with every row, reads undecidable cursors as the earlier instant (never a
// later one, so a merge keeps a later exact version) and warns once per overlap.
func TestRepeatedHourWithoutRecordAPI(t *testing.T) {
	la := losAngeles(t)
	stamps := []stamp{{time.Date(2024, 11, 3, 7, 30, 0, 0, time.UTC), 50}, {pdt(10, 0), 1}, {pst(20, 0), 2}, {pst(25, 0), 3}}
	for _, tc := range []struct {
		name  string
		opts  netsuitetest.Options
		fault netsuitetest.Fault
		plain bool
	}{
		{name: "role refused (403)", opts: netsuitetest.Options{NoRecordAPI: true}},
		{name: "not found (404)", fault: func(r *http.Request) (int, string, bool) {
			if strings.HasPrefix(r.URL.Path, "/services/rest/record/") {
				return 404, netsuitetest.ErrorBody(404, "NONEXISTENT_ID", "The record instance does not exist."), true
			}
			return 0, "", false
		}},
		{name: "bad request (400)", fault: func(r *http.Request) (int, string, bool) {
			if strings.HasPrefix(r.URL.Path, "/services/rest/record/") {
				return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid query parameter fields."), true
			}
			return 0, "", false
		}},
		{name: "source without a record API", plain: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := overlapHarness(t, tc.opts, stamps)
			h.srv.SetFault(tc.fault)
			logs := &syncBuffer{}
			opts := Options{Location: la, Logger: slog.New(slog.NewTextHandler(logs, nil))}
			var res Result
			var err error
			if tc.plain {
				res, err = h.runSource(plainSource{h.client}, []string{connector.Task}, opts)
			} else {
				res, err = h.run([]string{connector.Task}, opts, faults{})
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.Streams[0].Rows != int64(len(stamps)) {
				t.Errorf("wrote %d rows, want %d", res.Streams[0].Rows, len(stamps))
			}
			got, total := h.outputRows(connector.Task)
			if len(got) != len(stamps) || total != len(stamps) {
				t.Errorf("%d rows (%d ids) in the output, want %d", total, len(got), len(stamps))
			}
			for _, s := range stamps {
				want := s.at
				if _, ok := connector.OverlapOf(s.at.In(la).Format(schema.DateTimeLayout), la); ok && want.Sub(pst(0, 0)) >= 0 {
					want = want.Add(-time.Hour) // the guess: the earlier instant
				}
				if g, _ := got[s.id]["lastmodifieddate"].(time.Time); !g.Equal(want) {
					t.Errorf("id %d: %s, want the earlier instant %s", s.id, g.Format(time.RFC3339), want.Format(time.RFC3339))
				}
			}
			if n := strings.Count(logs.String(), "may be off by the clock change"); n != 1 {
				t.Errorf("%d warnings about the repeated hour, want 1:\n%s", n, logs)
			}
			if n := h.srv.Stats().RecordRequests; n > 1 {
				t.Errorf("%d record API requests; one refusal is enough", n)
			}
		})
	}
}

// TestRepeatedHourRecordChangesDuringSearch: a record updated between the key read and the
// record API lookup names neither instant; the hour is read again without it, the run
// completes with exact cursors, and the next run brings the update.
func TestRepeatedHourRecordChangesDuringSearch(t *testing.T) {
	la := losAngeles(t)
	stamps := append(ramp(pdt(0, 0), 40, 1), ramp(pst(1, 0), 40, 41)...) // no drop
	h, setClock := overlapHarness(t, netsuitetest.Options{}, stamps)
	var once sync.Once
	var changedID atomic.Int64
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/services/rest/record/v1/task/"); ok {
			once.Do(func() {
				var id int64
				fmt.Sscan(rest, &id)
				h.srv.Upsert(connector.Task, netsuitetest.Row{"id": id, "title": "changed meanwhile"})
				changedID.Store(id)
			})
		}
		return 0, "", false
	})
	logs := &syncBuffer{}
	h.mustRun([]string{connector.Task}, Options{Location: la, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	changed := changedID.Load()
	if changed == 0 {
		t.Fatal("the record API was not asked")
	}
	if !strings.Contains(logs.String(), "reading it again") || strings.Contains(logs.String(), "may be off") {
		t.Errorf("logs:\n%s", logs)
	}
	if n := h.srv.Stats().RecordRequests; n > 2*maxLookups(len(stamps)) {
		t.Errorf("%d record API requests", n)
	}
	// The update is stamped at NetSuite's clock, the pass's upper bound: the next run's.
	got, _ := h.outputRows(connector.Task)
	if _, ok := got[changed]; ok || len(got) != len(stamps)-1 {
		t.Fatalf("output has %d rows (changed id %d present: %v)", len(got), changed, ok)
	}
	for _, s := range stamps {
		if s.id != changed && !got[s.id]["lastmodifieddate"].(time.Time).Equal(s.at) {
			t.Errorf("id %d: %v, want %v", s.id, got[s.id]["lastmodifieddate"], s.at)
		}
	}
	h.srv.SetFault(nil)
	setClock(time.Date(2024, 11, 4, 1, 0, 0, 0, time.UTC))
	h.mustRun([]string{connector.Task}, Options{Location: la})
	assertCursorsExact(t, h, connector.Task)
}

// TestRepeatedHourOutOfOrderFails: NetSuite returning the repeated hour out of (instant,
// id) order is read again a bounded number of times, then stops the stream with a data
// error and no output.
func TestRepeatedHourOutOfOrderFails(t *testing.T) {
	la := losAngeles(t)
	h, _ := overlapHarness(t, netsuitetest.Options{}, []stamp{{pdt(10, 0), 1}, {pdt(20, 0), 2}, {pst(10, 0), 3}, {pst(20, 0), 4}})
	var overlapQueries atomic.Int32
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		q := queryOf(r)
		if !strings.Contains(q, "FROM task") || !strings.Contains(q, "TO_TIMESTAMP('2024-11-03 00:59:59'") {
			return 0, "", false
		}
		overlapQueries.Add(1)
		items := `{"links":[],"id":"2","lastmodifieddate":"2024-11-03 01:20:00"},{"links":[],"id":"1","lastmodifieddate":"2024-11-03 01:10:00"},` +
			`{"links":[],"id":"4","lastmodifieddate":"2024-11-03 01:20:00"},{"links":[],"id":"3","lastmodifieddate":"2024-11-03 01:10:00"}`
		return 200, `{"links":[],"count":4,"hasMore":false,"offset":0,"totalResults":4,"items":[` + items + `]}`, true
	})
	_, err := h.run([]string{connector.Task}, Options{Location: la}, faults{})
	if !errors.Is(err, connector.ErrData) || !strings.Contains(err.Error(), "order") {
		t.Fatalf("err = %v, want a data error about the order", err)
	}
	if n := overlapQueries.Load(); n != maxOverlapRereads {
		t.Errorf("the repeated hour was queried %d times, want %d", n, maxOverlapRereads)
	}
	if files, _ := sinktest.Glob(h.out, connector.Task, "*.parquet"); len(files) != 0 {
		t.Errorf("output written: %v", files)
	}
}
