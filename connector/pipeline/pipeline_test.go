package pipeline

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

func rowsPerStream(n int) map[string]int {
	m := map[string]int{}
	for _, s := range connector.StreamNames {
		m[s] = n
	}
	return m
}

func fixtures(t *testing.T) string {
	dir, err := filepath.Abs("../../testdata/fixtures")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFullThenIncremental is the core promise: a full extract of all five streams whose
// every cell matches NetSuite, then a run with no changes that writes nothing and asks
// one query per stream.
func TestFullThenIncremental(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(5000), Seed: 7, FixturesDir: fixtures(t)})
	res := h.mustRun(connector.StreamNames, Options{})
	if res.TimeZone != "America/Los_Angeles" {
		t.Errorf("time zone = %q, want the session zone from SESSIONTIMEZONE", res.TimeZone)
	}
	for _, s := range res.Streams {
		n := h.assertMatchesTruth(s.Stream)
		if n < 5000 || s.Rows != int64(n) || s.Files != 1 {
			t.Errorf("%s: wrote %d rows in %d files, NetSuite has %d", s.Stream, s.Rows, s.Files, n)
		}
		// Keyset pages: one per 1000 rows plus the last; a repeated autumn hour with rows
		// in it (three in the data) costs its own pages and one query to resume after it.
		// Slicing costs the one-row queries that cut the pass (three) and, for each slice,
		// its last page and its own reads of the repeated hours.
		if min, max := int64(n/connector.PageSize+1), int64(n/connector.PageSize+1+6+3+DefaultConcurrency*(1+2*3)); s.Requests < min || s.Requests > max {
			t.Errorf("%s: %d requests, want %d to %d", s.Stream, s.Requests, min, max)
		}
		if !s.To.Equal(res.ServerTime.Truncate(time.Second)) {
			t.Errorf("%s: watermark %v, want the server time %v", s.Stream, s.To, res.ServerTime)
		}
	}
	for _, q := range h.srv.Stats().Queries {
		if q.Offset != 0 && q.Limit != 1 && strings.Contains(q.Query, ".id > ") { // one-row probes cut slices
			t.Fatalf("a keyset query used offset %d: %s", q.Offset, q.Query)
		}
	}

	nextSecond() // the fake's clock is the real one: a run in the same second has nothing to read
	h.srv.ResetStats()
	before := countFiles(t, h.out)
	res = h.mustRun(connector.StreamNames, Options{})
	stats := h.srv.Stats()
	for _, s := range res.Streams {
		if s.Rows != 0 || s.Files != 0 {
			t.Errorf("%s: second run wrote %d rows in %d files", s.Stream, s.Rows, s.Files)
		}
		if got := stats.SuiteQLRequests[s.Stream]; got != 1 {
			t.Errorf("%s: second run sent %d SuiteQL requests, want 1", s.Stream, got)
		}
	}
	if after := countFiles(t, h.out); after != before {
		t.Errorf("second run added files: %d → %d", before, after)
	}
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestIncrementalPicksUpChanges: updates (including to low ids the keyset passed long
// ago) and inserts made between runs arrive in the next run, and nothing else does.
func TestIncrementalPicksUpChanges(t *testing.T) {
	clock := time.Now().UTC()
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1500), Seed: 3, Now: func() time.Time { return clock }})
	streams := []string{connector.Customer, connector.Task}
	h.mustRun(streams, Options{Lookback: time.Minute})

	clock = clock.Add(time.Hour)
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(1), "companyname": "Renamed Ltd"})
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(99_000_001), "companyname": "New Co", "isinactive": false})
	h.srv.Upsert(connector.Task, netsuitetest.Row{"id": int64(2), "title": "changed"})
	clock = clock.Add(time.Hour)

	res := h.mustRun(streams, Options{Lookback: time.Minute})
	for _, s := range res.Streams {
		want := map[string]int64{connector.Customer: 2, connector.Task: 1}[s.Stream]
		if s.Rows != want {
			t.Errorf("%s: incremental run wrote %d rows, want %d", s.Stream, s.Rows, want)
		}
		h.assertMatchesTruth(s.Stream)
	}
}

// TestCrashBeforeRenameLosesNothing simulates a crash between "rows written" and "file
// renamed": no final file exists, the state is unchanged, and a rerun completes.
func TestCrashBeforeRenameLosesNothing(t *testing.T) {
	for _, step := range []sink.Step{sink.StepWritten, sink.StepFsynced} {
		t.Run(string(step), func(t *testing.T) {
			h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(2500), Seed: 11})
			streams := []string{connector.Contact}
			crash := errors.New("simulated crash")
			commits := 0
			_, err := h.run(streams, Options{FileRows: 1000}, faults{sink: func(s sink.Step, _ string) error {
				if s == step {
					if commits++; commits == 2 {
						return crash
					}
				}
				return nil
			}})
			if !errors.Is(err, crash) {
				t.Fatalf("run error = %v, want the simulated crash", err)
			}
			// The first file and its checkpoint survived; the second file never got its name.
			f, err := state.Load(h.statePath)
			if err != nil {
				t.Fatal(err)
			}
			st := f.Streams[connector.Contact]
			if st.Pass == nil || st.Pass.Rows != 1000 || st.RowsTotal != 1000 {
				t.Fatalf("checkpoint after crash = %+v, want a pass at 1000 rows", st)
			}
			if got, _ := sinktest.Glob(h.out, connector.Contact, "*.parquet"); len(got) != 1 {
				t.Fatalf("final files after crash = %v, want 1", got)
			}
			res := h.mustRun(streams, Options{FileRows: 1000})
			if !res.Streams[0].Resumed {
				t.Errorf("rerun did not resume the unfinished pass")
			}
			h.assertMatchesTruth(connector.Contact)
			if _, total := h.outputRows(connector.Contact); total != len(h.srv.Truth(connector.Contact)) {
				t.Errorf("rows written in all = %d, want exactly %d (resume from the checkpoint, no re-read)", total, len(h.srv.Truth(connector.Contact)))
			}
			if tmp, _ := sinktest.Glob(h.out, connector.Contact, ".*"); len(tmp) != 0 {
				t.Errorf("temporary files left behind: %v", tmp)
			}
		})
	}
}

// TestCrashBeforeStateSaveLosesNothing simulates a crash between "file renamed" and
// "state saved": the file is durable but the checkpoint never moved, so a rerun writes its
// rows again (at-least-once) and the merged output is still exact.
func TestCrashBeforeStateSaveLosesNothing(t *testing.T) {
	for _, step := range []string{"temp-written", "temp-synced"} {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(2500), Seed: 12})
			streams := []string{connector.PhoneCall}
			crash := errors.New("simulated crash")
			saves := 0
			// One stream at a time: the deletions reader goes first and saves once (there
			// are none), then the records' first file is saved, then the second is not.
			_, err := h.run(streams, Options{FileRows: 1000, StreamConcurrency: 1}, faults{state: func(s string) error {
				if s == step {
					if saves++; saves == 3 {
						return crash
					}
				}
				return nil
			}})
			if !errors.Is(err, crash) {
				t.Fatalf("run error = %v, want the simulated crash", err)
			}
			f, err := state.Load(h.statePath)
			if err != nil {
				t.Fatalf("state unreadable after crash: %v", err)
			}
			if st := f.Streams[connector.PhoneCall]; st.Pass == nil || st.Pass.Rows != 1000 {
				t.Fatalf("checkpoint = %+v, want the first file's", st)
			}
			h.mustRun(streams, Options{FileRows: 1000})
			h.assertMatchesTruth(connector.PhoneCall)
			// At-least-once: the file whose checkpoint was lost is written again (a resume
			// inside a repeated hour re-reads that hour too).
			_, total := h.outputRows(connector.PhoneCall)
			if n := len(h.srv.Truth(connector.PhoneCall)); total < n+1000 {
				t.Errorf("rows written in all = %d, want at least %d", total, n+1000)
			}
		})
	}
}

// TestNDJSONOutput runs the same extract to NDJSON and checks every cell.
func TestNDJSONOutput(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1200), Seed: 5, FixturesDir: fixtures(t)})
	h.format = sink.NDJSON
	h.mustRun(connector.StreamNames, Options{})
	for _, s := range connector.StreamNames {
		h.assertMatchesTruth(s)
	}
}

// TestRejectedColumnIsDroppedWithWarning: a column NetSuite refuses (a feature that is
// off) is dropped with a warning and the run goes on; the column is absent from the
// files, not written as NULL.
func TestRejectedColumnIsDroppedWithWarning(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(10), Seed: 1})
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if q := queryOf(r); strings.Contains(q, "customer.salesrep") {
			return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Unknown identifier 'salesrep'. Available identifiers are: {id, entityid}"), true
		}
		return 0, "", false
	})
	res := h.mustRun([]string{connector.Customer}, Options{})
	if got := res.Streams[0].DroppedColumns; len(got) != 1 || got[0].Column != "salesrep" || !got[0].New || got[0].Reason != "Unknown identifier 'salesrep'" {
		t.Fatalf("dropped columns = %+v", got)
	}
	h.absent[connector.Customer] = []string{"salesrep"}
	if n := h.assertMatchesTruth(connector.Customer); n != 10 {
		t.Fatalf("rows = %d", n)
	}
}

// TestBadValueFailsWithStreamIDAndColumn: a value that does not parse stops the stream
// with a data error naming stream, id and column, and the checkpoint does not move (the
// deletions, read beside the records, may have saved theirs).
func TestBadValueFailsWithStreamIDAndColumn(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(0), Seed: 1})
	h.srv.Upsert(connector.Task, netsuitetest.Row{"id": int64(77), "title": "ok"})
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.Contains(queryOf(r), "FROM task") {
			return 200, `{"links":[],"count":1,"hasMore":false,"offset":0,"totalResults":1,"items":[{"links":[],"id":"77","percentcomplete":"12,5","lastmodifieddate":"2024-01-01 00:00:00"}]}`, true
		}
		return 0, "", false
	})
	_, err := h.run([]string{connector.Task}, Options{}, faults{})
	if !errors.Is(err, connector.ErrData) {
		t.Fatalf("err = %v, want a data error", err)
	}
	for _, want := range []string{"task", "id 77", "percentcomplete", "12,5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if f, err := state.Load(h.statePath); err != nil {
		t.Fatal(err)
	} else if st, ok := f.Streams[connector.Task]; ok {
		t.Errorf("task checkpoint saved after a data error: %+v", st)
	}
	if files, _ := sinktest.Glob(h.out, connector.Task, "*.parquet"); len(files) != 0 {
		t.Errorf("output written after a data error: %v", files)
	}
}

// TestRepeatedHourIsReadCompletely: thousands of rows modified in the repeated hour when
// clocks go back, split across files, with a crash whose checkpoint lies inside that hour.
// Wall-time keysets cannot work there; nothing may be lost and no query may loop.
func TestRepeatedHourIsReadCompletely(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	clock := time.Date(2024, 11, 3, 7, 30, 0, 0, time.UTC) // 00:30 PDT
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(0), Now: func() time.Time { return clock }})
	// 3,000 rows from 00:30 PDT to 02:30 PST: both occurrences of 01:xx, several rows a second.
	for i := int64(1); i <= 3000; i++ {
		clock = time.Date(2024, 11, 3, 7, 30, 0, 0, time.UTC).Add(time.Duration(i) * 3 * time.Second)
		h.srv.Upsert(connector.Task, netsuitetest.Row{"id": 3001 - i, "title": fmt.Sprint("t", i)})
	}
	clock = time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC)
	streams := []string{connector.Task}
	crash := errors.New("simulated crash")
	saves := 0
	// One stream at a time: the deletions reader saves first (there are none), then the
	// records' third checkpoint fails.
	_, err := h.run(streams, Options{FileRows: 1000, Location: la, StreamConcurrency: 1}, faults{state: func(step string) error {
		if step == "temp-written" {
			if saves++; saves == 4 {
				return crash
			}
		}
		return nil
	}})
	if !errors.Is(err, crash) {
		t.Fatalf("first run: %v", err)
	}
	f, _ := state.Load(h.statePath)
	if p := f.Streams[connector.Task].Pass; p == nil || p.AfterCursor == "" {
		t.Fatalf("checkpoint = %+v, want a keyset position", f.Streams[connector.Task])
	} else if _, in := connector.OverlapOf(p.AfterCursor, la); !in {
		t.Fatalf("checkpoint %q is not inside the repeated hour; the test does not test what it says", p.AfterCursor)
	}
	h.srv.ResetStats()
	h.mustRun(streams, Options{FileRows: 1000, Location: la})
	h.assertMatchesTruth(connector.Task)
	if n := h.srv.Stats().SuiteQLRequests[connector.Task]; n > 12 {
		t.Errorf("resume took %d requests for 3000 rows: the repeated hour should be read once", n)
	}
}

// TestServerTimeUnavailableFallsBackToLocalClock: an account that refuses the serverTime
// endpoint still extracts, with a watermark safely behind the local clock.
func TestServerTimeUnavailableFallsBackToLocalClock(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(50), Seed: 1})
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/serverTime") {
			return 404, netsuitetest.ErrorBody(404, "NONEXISTENT_ID", "The requested resource was not found."), true
		}
		return 0, "", false
	})
	before := time.Now()
	res := h.mustRun([]string{connector.Contact}, Options{})
	if got := res.Streams[0].To; !got.Before(before) || got.Before(before.Add(-localClockMargin-time.Minute)) {
		t.Fatalf("watermark %v, want about %v before %v", got, localClockMargin, before)
	}
	h.assertMatchesTruth(connector.Contact)
}

// TestColumnFailingWith500IsFoundAndDropped: NetSuite answers 500 UNEXPECTED_ERROR to any
// query selecting one broken field. The run finds that field by bisection — a baseline,
// at most ceil(log2(20)) halvings of task's 20 droppable columns and one confirmation,
// not one probe per column — drops it with a warning, and extracts the rest.
func TestColumnFailingWith500IsFoundAndDropped(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1500), Seed: 2,
		Rejections: map[string]map[string]netsuitetest.Rejection{connector.Task: {"priority": netsuitetest.UnexpectedError}}})
	res := h.mustRun([]string{connector.Task}, Options{})
	if got := res.Streams[0].DroppedColumns; len(got) != 1 || got[0].Column != "priority" || !strings.Contains(got[0].Reason, "UNEXPECTED_ERROR") {
		t.Fatalf("dropped columns = %+v, want [priority]", got)
	}
	h.absent[connector.Task] = []string{"priority"}
	if n := h.assertMatchesTruth(connector.Task); n != 1500 {
		t.Fatalf("%d rows, want 1500", n)
	}
	probes := 0
	for _, q := range h.srv.Stats().Queries {
		if strings.HasPrefix(q.Query, "SELECT task.id, ") && q.Limit == 1 {
			probes++
		}
	}
	if probes < 1+4+1 || probes > 1+5+1 {
		t.Errorf("%d probe queries, want 6..7", probes)
	}
}

// TestUnexpectedErrorOfNoColumnFailsTheRun: when every column works alone, the 500 is
// NetSuite's own and the run fails as transient instead of dropping anything.
func TestUnexpectedErrorOfNoColumnFailsTheRun(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(10), Seed: 2})
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if q := queryOf(r); strings.Contains(q, "FROM contact") && !strings.Contains(r.URL.RawQuery, "limit=1&") {
			return 500, netsuitetest.ErrorBody(500, "UNEXPECTED_ERROR", "An unexpected error occurred."), true
		}
		return 0, "", false
	})
	_, err := h.run([]string{connector.Contact}, Options{}, faults{})
	if !errors.Is(err, connector.ErrTransient) || !strings.Contains(err.Error(), "UNEXPECTED_ERROR") {
		t.Fatalf("err = %v, want the transient UNEXPECTED_ERROR", err)
	}
}
