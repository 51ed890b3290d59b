package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// TestQuietRunOneDeletionsRequest: with nothing changed, an incremental run of the five
// record streams sends one query per stream and one for the deletions of all of them,
// besides the session zone and NetSuite's clock; the custom-field catalog is not read
// again within its TTL.
func TestQuietRunOneDeletionsRequest(t *testing.T) {
	clock := &fixedClock{at: time.Date(2025, 3, 3, 18, 0, 0, 0, time.UTC)}
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(50), Seed: 5, CustomFields: someCustomFields(), Now: clock.Now})
	h.mustRun(connector.StreamNames, Options{})
	clock.set(clock.Now().Add(time.Minute)) // within the catalog's TTL
	h.srv.ResetStats()
	before := h.client.Stats().Requests
	res := h.mustRun(connector.StreamNames, Options{})
	st := h.srv.Stats()
	want := map[string]int{"dual": 1, "deletedrecord": 1}
	for _, s := range connector.StreamNames {
		want[s] = 1
	}
	if !maps.Equal(st.SuiteQLRequests, want) {
		t.Errorf("quiet run's SuiteQL requests by table: %v, want %v", st.SuiteQLRequests, want)
	}
	// The SuiteQL requests above, and NetSuite's clock (GET serverTime).
	if n := h.client.Stats().Requests - before; n != int64(len(connector.StreamNames))+3 || st.RecordRequests != 0 {
		t.Errorf("quiet run sent %d requests (%d to the record API), want %d", n, st.RecordRequests, len(connector.StreamNames)+3)
	}
	for _, s := range res.Streams {
		if s.Requests != 1 || s.Rows != 0 || s.Deleted != 0 || s.Files != 0 || s.DeletionsUnavailable {
			t.Errorf("%s: %+v; want 1 request and nothing written", s.Stream, s)
		}
	}
	if res.DeletionRequests != 1 || !res.CustomFields.Cached {
		t.Errorf("deletion requests %d, catalog %+v; want 1 and the cached catalog", res.DeletionRequests, res.CustomFields)
	}
	for _, q := range st.Queries {
		if q.Table == "deletedrecord" && !strings.HasSuffix(q.Query, "ORDER BY deletedrecord.deleteddate, deletedrecord.recordid, deletedrecord.type") {
			t.Errorf("deletions query without a unique order: %s", q.Query)
		}
	}
}

// deletionScenario is the fake's data for the deletion tests: at t0 every record stream
// has the ids it loses and a few around them; at t1 1,152 of them are deleted in the same
// second with overlapping ids across streams (entity and activity ids collide), and ten
// more a second later.
type deletionScenario struct {
	h       *harness
	clock   *fixedClock
	t0, t1  time.Time
	deleted map[string]map[int64]time.Time // by stream: id → deleteddate
}

type fixedClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *fixedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *fixedClock) set(t time.Time) { c.mu.Lock(); c.at = t; c.mu.Unlock() }

// deletedRanges are the ids each stream loses at t1: 1,152 rows in one second, whose
// first page ends between the streams' deletions of id 300.
var deletedRanges = map[string][2]int64{
	connector.Customer: {1, 300}, connector.Contact: {151, 450}, connector.Task: {1, 252},
	connector.PhoneCall: {101, 300}, connector.CalendarEvent: {201, 300},
}

func newDeletionScenario(t *testing.T, opts netsuitetest.Options) *deletionScenario {
	t.Helper()
	d := &deletionScenario{clock: &fixedClock{}, t0: time.Date(2025, 3, 3, 18, 0, 0, 0, time.UTC), deleted: map[string]map[int64]time.Time{}}
	d.t1 = d.t0.Add(time.Hour)
	d.clock.set(d.t0)
	opts.Now = d.clock.Now
	d.h = newHarness(t, opts)
	for _, s := range connector.StreamNames {
		r := deletedRanges[s]
		for id := max(1, r[0]-5); id <= max(r[1], 305)+5; id++ {
			d.h.srv.Upsert(s, netsuitetest.Row{"id": id})
		}
		d.deleted[s] = map[int64]time.Time{}
	}
	return d
}

// deleteAll makes the deletions: deletedRanges at t1, customers 301..305 and tasks
// 301..305 at t1+1s.
func (d *deletionScenario) deleteAll(t *testing.T) {
	t.Helper()
	d.clock.set(d.t1)
	for _, s := range connector.StreamNames {
		for id := deletedRanges[s][0]; id <= deletedRanges[s][1]; id++ {
			d.delete(t, s, id)
		}
	}
	d.clock.set(d.t1.Add(time.Second))
	for id := int64(301); id <= 305; id++ {
		d.delete(t, connector.Customer, id)
		d.delete(t, connector.Task, id)
	}
	d.clock.set(d.t1.Add(time.Hour))
}

func (d *deletionScenario) delete(t *testing.T, stream string, id int64) {
	if !d.h.srv.Delete(stream, id) {
		t.Fatalf("%s %d did not exist", stream, id)
	}
	d.deleted[stream][id] = d.clock.Now().Truncate(time.Second)
}

// tombstones reads every tombstone in a stream's directory: id → deletion times seen.
func (h *harness) tombstones(stream string) map[int64][]time.Time {
	h.t.Helper()
	out := map[int64][]time.Time{}
	for _, rows := range h.fileRows(stream) {
		for _, r := range rows {
			if r[connector.DeletedColumn] == true {
				id := r["id"].(int64)
				out[id] = append(out[id], r["lastmodifieddate"].(time.Time))
			}
		}
	}
	return out
}

// assertTombstones checks that each stream's directory holds a tombstone for exactly
// the ids the stream lost (none of another stream's), each at its deletion time, that
// the merged output equals NetSuite, and that no temporary file is left.
func (d *deletionScenario) assertTombstones(t *testing.T, streams []string) {
	t.Helper()
	for _, s := range streams {
		got := d.h.tombstones(s)
		want := d.deleted[s]
		var missing, extra []int64
		for id := range want {
			if _, ok := got[id]; !ok {
				missing = append(missing, id)
			}
		}
		for id, at := range got {
			w, ok := want[id]
			if !ok {
				extra = append(extra, id)
				continue
			}
			for _, a := range at {
				if !a.Equal(w) {
					t.Errorf("%s: tombstone of %d at %s, deleted at %s", s, id, a.Format(time.RFC3339), w.Format(time.RFC3339))
				}
			}
		}
		slices.Sort(missing)
		slices.Sort(extra)
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s: %d tombstones for %d deletions; missing %v, not deleted in this stream %v", s, len(got), len(want), head(missing), head(extra))
		}
		d.h.assertMatchesTruth(s)
		if tmp, _ := sinktest.Glob(d.h.out, s, ".*"); len(tmp) != 0 {
			t.Errorf("%s: temporary files left: %v", s, tmp)
		}
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 8)] }

// TestDeletionsOfSeveralStreamsKilledAtEveryStep: the deletions of five streams, 1,152
// in one second with ids shared across streams (two pages, the first ending between two
// streams' deletions of one id; two rolls of four or five files),
// read by one query killed at each step — page fetched, batch built, each step of a
// file's commit, between the files of a roll (in the first and in the second), each step
// of the state's write. The deletions reader runs first (one stream at a time), so the
// kills land in it. After every kill the state file is valid and every stream's entry
// holds the same position; one clean rerun then leaves exactly the right tombstones in
// each stream's directory, each at its deletion time.
func TestDeletionsOfSeveralStreamsKilledAtEveryStep(t *testing.T) {
	steps := []struct {
		step string
		nth  []int32
	}{
		{"page-fetched", []int32{2}}, {"batch-built", []int32{2}},
		{string(sink.StepWritten), []int32{1}}, {string(sink.StepFsynced), []int32{3}},
		{string(sink.StepRenamed), []int32{7}}, {string(sink.StepDirSynced), []int32{5}},
		{"deletions-file-committed", []int32{4, 8}},
		{"temp-written", []int32{2}}, {"temp-synced", []int32{1}}, {"state-renamed", []int32{1}},
	}
	for _, st := range steps {
		for _, nth := range st.nth {
			t.Run(fmt.Sprintf("%s#%d", st.step, nth), func(t *testing.T) {
				t.Parallel() // they wait on fsync much of the time
				d := newDeletionScenario(t, netsuitetest.Options{
					Rejections: map[string]map[string]netsuitetest.Rejection{connector.Task: {"supportcase": netsuitetest.NotExposed}}})
				d.h.absent[connector.Task] = []string{"supportcase"}
				d.h.format = sink.NDJSON // lighter than Parquet; the other tests write Parquet
				d.deleteAll(t)
				crash, at, f := killAt(st.step, nth)
				_, err := d.h.run(connector.StreamNames, Options{FileRows: 300, StreamConcurrency: 1, stepHook: at}, f)
				if !errors.Is(err, crash) {
					t.Fatalf("run was not killed at %s #%d: %v", st.step, nth, err)
				}
				saved, err := state.Load(d.h.statePath)
				if err != nil {
					t.Fatalf("state file invalid after the kill: %v", err)
				}
				// Every stream's deletions entry holds the same position, or none yet.
				var passes []string
				for _, s := range connector.StreamNames {
					if e, ok := saved.Streams[DeletionsKey(s)]; ok && e.Pass != nil {
						p := *e.Pass
						p.Rows = 0
						passes = append(passes, fmt.Sprintf("%+v", p))
					}
				}
				if len(passes) > 0 && (len(passes) != len(connector.StreamNames) || len(slices.Compact(slices.Sorted(slices.Values(passes)))) != 1) {
					t.Fatalf("entries saved apart: %v", passes)
				}
				res := d.h.mustRun(connector.StreamNames, Options{FileRows: 300})
				d.assertTombstones(t, connector.StreamNames)
				// The rest of the pass (nothing if the kill came after its last checkpoint's
				// rename): at most both pages again.
				if res.DeletionRequests > 2 {
					t.Errorf("%d deletion requests after the kill", res.DeletionRequests)
				}
			})
		}
	}
}

// TestDeletionsMigrateFromPerStreamEntries: a state written by the version that read
// each stream's deletions with its own query — entries at different watermarks, one of
// them stopped inside its pass (a keyset position without a tie-breaker) — carries on
// without losing a deletion: alone, the unfinished pass is resumed from its position;
// with the other streams, a fresh pass from the lowest bound subsumes it.
func TestDeletionsMigrateFromPerStreamEntries(t *testing.T) {
	for _, alone := range []bool{true, false} {
		t.Run(fmt.Sprint("resumed alone=", alone), func(t *testing.T) {
			d := newDeletionScenario(t, netsuitetest.Options{})
			for id := int64(1001); id <= 2000; id++ { // two pages of contact deletions
				d.h.srv.Upsert(connector.Contact, netsuitetest.Row{"id": id})
			}
			d.h.mustRun(connector.StreamNames, Options{}) // watermark t0 for every stream
			d.deleteAll(t)
			d.clock.set(d.t1)
			for id := int64(1001); id <= 2000; id++ {
				d.delete(t, connector.Contact, id)
			}
			d.clock.set(d.t1.Add(time.Hour))
			// The contact deletions stop after their first page's file (the version before
			// wrote the same kind of entry: contact types only, (deleteddate, recordid) order).
			crash, at, f := killAt("deletions-file-committed", 2)
			if _, err := d.h.run([]string{connector.Contact}, Options{FileRows: 100, stepHook: at}, f); !errors.Is(err, crash) {
				t.Fatalf("contact run was not killed: %v", err)
			}
			old := d.rewriteState(t, func(entries map[string]state.Stream) {
				c := entries[DeletionsKey(connector.Contact)]
				if c.Pass == nil || c.Pass.AfterTie != "contact" || c.Pass.Rows != 1000 {
					t.Fatalf("contact deletions entry %+v", c)
				}
				c.Pass.AfterTie = "" // as the version before saved it
				entries[DeletionsKey(connector.Contact)] = c
				// Another stream behind the rest by a day.
				tk := entries[DeletionsKey(connector.Task)]
				tk.Watermark = tk.Watermark.Add(-24 * time.Hour)
				entries[DeletionsKey(connector.Task)] = tk
			})
			d.h.srv.ResetStats()
			if alone {
				res := d.h.mustRun([]string{connector.Contact}, Options{})
				if want := int64(len(d.deleted[connector.Contact]) - 1000); !res.Streams[0].Resumed || res.Streams[0].Deleted != want || res.DeletionRequests != 1 {
					t.Errorf("contact alone: %+v, %d deletion requests; want the pass resumed, writing the %d deletions after its position in 1 request",
						res.Streams[0], res.DeletionRequests, want)
				}
				resumedAt := false
				for _, q := range d.h.srv.Stats().Queries {
					after := fmt.Sprintf("deletedrecord.recordid > %d)) ORDER BY", old.AfterID)
					resumedAt = resumedAt || (q.Table == "deletedrecord" && strings.Contains(q.Query, after))
				}
				if !resumedAt {
					t.Errorf("the unfinished pass was not resumed at its position (id %d)", old.AfterID)
				}
				d.assertTombstones(t, []string{connector.Contact})
			}
			res := d.h.mustRun(connector.StreamNames, Options{})
			d.assertTombstones(t, connector.StreamNames)
			if res.DeletionRequests != 3 {
				t.Errorf("%d deletion requests; want 3 (2,160 rows from the task's bound)", res.DeletionRequests)
			}
			f2, _ := state.Load(d.h.statePath)
			for _, s := range connector.StreamNames {
				e := f2.Streams[DeletionsKey(s)]
				if e.Pass != nil || !e.Watermark.Equal(d.t1.Add(time.Hour)) {
					t.Errorf("%s: deletions entry %+v", s, e)
				}
			}
			// Quiet again: one request for all.
			d.clock.set(d.t1.Add(2 * time.Hour))
			res = d.h.mustRun(connector.StreamNames, Options{})
			if res.DeletionRequests != 1 {
				t.Errorf("%d deletion requests in a quiet run", res.DeletionRequests)
			}
			for _, s := range res.Streams {
				if s.Deleted != 0 || s.Resumed {
					t.Errorf("%s: quiet run %+v", s.Stream, s)
				}
			}
		})
	}
}

// rewriteState edits the state file's stream entries (as an older version or a crash
// would have left them) and returns the contact deletions' pass as it was.
func (d *deletionScenario) rewriteState(t *testing.T, edit func(map[string]state.Stream)) state.Pass {
	t.Helper()
	st, err := state.Open(d.h.statePath, account)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries := map[string]state.Stream{}
	for name, e := range st.Snapshot().Streams {
		entries[name] = e
	}
	old := *entries[DeletionsKey(connector.Contact)].Pass
	edit(entries)
	if err := st.SaveAll(entries); err != nil {
		t.Fatal(err)
	}
	return old
}

// TestDeletionsUnavailableForEveryStream: without deletedrecord, every record stream says
// so and still extracts its records; no deletions entry is saved.
func TestDeletionsUnavailableForEveryStream(t *testing.T) {
	d := newDeletionScenario(t, netsuitetest.Options{})
	d.h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.Contains(queryOf(r), "FROM deletedrecord") {
			return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Record 'deletedrecord' was not found."), true
		}
		return 0, "", false
	})
	d.deleteAll(t)
	res := d.h.mustRun(connector.StreamNames, Options{})
	for _, s := range res.Streams {
		if !s.DeletionsUnavailable || s.Deleted != 0 || s.Rows != int64(len(d.h.srv.Truth(s.Stream))) {
			t.Errorf("%s: %+v", s.Stream, s)
		}
		if got := d.h.tombstones(s.Stream); len(got) != 0 {
			t.Errorf("%s: %d tombstones", s.Stream, len(got))
		}
	}
	if res.DeletionRequests != 2 {
		t.Errorf("%d deletion requests, want the one refused and the probe of its key columns", res.DeletionRequests)
	}
	f, _ := state.Load(d.h.statePath)
	for name := range f.Streams {
		if strings.HasSuffix(name, ".deleted") {
			t.Errorf("a deletions checkpoint %s was saved although none were read", name)
		}
	}
}

// TestDeletionsFullRefresh: --full-refresh writes every stream's tombstones again from
// all history, and the entries end at the new watermark with their totals adding up.
func TestDeletionsFullRefresh(t *testing.T) {
	d := newDeletionScenario(t, netsuitetest.Options{})
	d.h.mustRun(connector.StreamNames, Options{})
	d.deleteAll(t)
	first := d.h.mustRun(connector.StreamNames, Options{})
	d.clock.set(d.t1.Add(2 * time.Hour))
	res := d.h.mustRun(connector.StreamNames, Options{FullRefresh: true})
	f, _ := state.Load(d.h.statePath)
	for i, s := range res.Streams {
		n := int64(len(d.deleted[s.Stream]))
		if first.Streams[i].Deleted != n || s.Deleted != n {
			t.Errorf("%s: %d then %d tombstones, want %d each time", s.Stream, first.Streams[i].Deleted, s.Deleted, n)
		}
		e := f.Streams[DeletionsKey(s.Stream)]
		if e.Pass != nil || !e.Watermark.Equal(d.t1.Add(2*time.Hour)) || e.RowsTotal != 2*n {
			t.Errorf("%s: deletions entry %+v", s.Stream, e)
		}
		for id, at := range d.h.tombstones(s.Stream) {
			if len(at) != 2 {
				t.Errorf("%s: %d tombstones of id %d, want 2", s.Stream, len(at), id)
			}
		}
	}
	d.assertTombstones(t, connector.StreamNames)
}

// TestDeletionsInRepeatedHour: contacts and tasks deleted in both occurrences of the
// autumn clock change's repeated hour, with the same ids, more than a page of them. The
// shared query's key-only pages carry the type, and every tombstone gets its exact
// instant in its own stream.
func TestDeletionsInRepeatedHour(t *testing.T) {
	la := losAngeles(t)
	clock := &fixedClock{at: time.Date(2024, 11, 3, 6, 0, 0, 0, time.UTC)}
	h := newHarness(t, netsuitetest.Options{Now: clock.Now})
	d := &deletionScenario{h: h, clock: clock, deleted: map[string]map[int64]time.Time{}}
	streams := []string{connector.Contact, connector.Task}
	for _, s := range streams {
		d.deleted[s] = map[int64]time.Time{}
		for id := int64(1); id <= 600; id++ {
			h.srv.Upsert(s, netsuitetest.Row{"id": id})
		}
	}
	// PDT 01:00:00… then PST 01:00:00…: the same wall times twice, two streams a second.
	for id := int64(1); id <= 600; id++ {
		if id <= 350 {
			clock.set(pdt(0, 0).Add(time.Duration(id) * time.Second))
		} else {
			clock.set(pst(0, 0).Add(time.Duration(id-350) * time.Second))
		}
		d.delete(t, connector.Contact, id)
		d.delete(t, connector.Task, id)
	}
	clock.set(time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC))
	res := h.mustRun(streams, Options{Location: la, FileRows: 500})
	for _, s := range res.Streams {
		if s.Deleted != 600 {
			t.Errorf("%s: %d tombstones", s.Stream, s.Deleted)
		}
	}
	keys := false
	for _, q := range h.srv.Stats().Queries {
		if q.Table == "deletedrecord" && q.Offset > 0 && strings.HasPrefix(q.Query, "SELECT deletedrecord.recordid, TO_CHAR(deletedrecord.deleteddate") {
			keys = true
			if !strings.Contains(q.Query, "AS deleteddate, deletedrecord.type FROM") {
				t.Errorf("key query without the tie-breaker: %s", q.Query)
			}
		}
	}
	if !keys {
		t.Errorf("no key-only query was sent for the second page of the repeated hour")
	}
	d.assertTombstones(t, streams)
}

// TestTombstoneFilesKeepTheirSchema: a tombstone file is created with its stream's
// columns as they are then; when NetSuite refuses a column meanwhile, the open file keeps
// it and the next file is created without it. Each file has one schema.
func TestTombstoneFilesKeepTheirSchema(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.json"), account)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out, err := sink.New(context.Background(), sink.Options{Dir: filepath.Join(dir, "out"), Format: sink.Parquet, RunID: sinktest.RunID(), RunStart: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := Options{Location: time.UTC, FileRows: 1000, Mem: memory.DefaultAllocator}
	opts.Logger = slog.New(slog.DiscardHandler)
	r := &Runner{Sink: out, State: st, Opts: opts}
	prepared := map[string]preparedStream{}
	for _, s := range []string{connector.Task, connector.Contact} {
		cols, log, err := r.prepare(opts, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		prepared[s] = preparedStream{cols: cols, log: log}
	}
	d, err := r.newDeletions(r.Source, opts, now, []string{connector.Task, connector.Contact}, prepared)
	if err != nil {
		t.Fatal(err)
	}
	d.pass = state.Pass{Upper: now}
	batch := func(ids ...int64) {
		t.Helper()
		b := schema.NewBuilder(opts.Mem, deletionRow, time.UTC)
		defer b.Release()
		for _, id := range ids {
			typ := "task"
			if id < 0 {
				id, typ = -id, "contact"
			}
			if err := b.Append(schema.RawRow{"id": fmt.Sprint(id), "lastmodifieddate": "2024-12-31 10:00:00", "type": typ}); err != nil {
				t.Fatal(err)
			}
		}
		rec := b.NewRecord()
		defer rec.Release()
		if err := d.route(rec); err != nil {
			t.Fatal(err)
		}
	}
	batch(1, -1, 2)
	supportcase, _ := prepared[connector.Task].cols.table.Column("supportcase")
	if err := prepared[connector.Task].cols.drop(supportcase, "NOT_EXPOSED"); err != nil {
		t.Fatal(err)
	}
	batch(3) // into the open file: still with the column
	if err := d.commit(connector.Window{Upper: now, After: &connector.Keyset{Cursor: "2024-12-31 10:00:00", ID: 3, Tie: "task"}}, false); err != nil {
		t.Fatal(err)
	}
	batch(4)
	if err := d.commit(connector.Window{Upper: now}, true); err != nil {
		t.Fatal(err)
	}
	files, _ := sinktest.Glob(filepath.Join(dir, "out"), connector.Task, "*.parquet")
	sort.Strings(files)
	if len(files) != 2 {
		t.Fatalf("task files %v", files)
	}
	for i, want := range []struct {
		ids     []int64
		support bool
	}{{[]int64{1, 2, 3}, true}, {[]int64{4}, false}} {
		rows := readParquet(t, files[i])
		var ids []int64
		for _, r := range rows {
			ids = append(ids, r["id"].(int64))
			if _, has := r["supportcase"]; has != want.support {
				t.Errorf("file %d: supportcase present %v, want %v", i, has, want.support)
			}
			if r[connector.DeletedColumn] != true || !r["lastmodifieddate"].(time.Time).Equal(time.Date(2024, 12, 31, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("file %d: row %v", i, r)
			}
		}
		if !slices.Equal(ids, want.ids) {
			t.Errorf("file %d: ids %v, want %v", i, ids, want.ids)
		}
	}
	for s, n := range map[string]int64{connector.Task: 4, connector.Contact: 1} {
		e, _ := st.Stream(DeletionsKey(s))
		if e.RowsTotal != n || e.Pass != nil || !e.Watermark.Equal(now) {
			t.Errorf("%s: entry %+v", s, e)
		}
	}
}
