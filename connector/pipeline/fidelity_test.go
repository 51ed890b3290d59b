package pipeline

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/state"
)

// TestPast100kRowsInOneRun: 250,000 rows in one stream extract completely in one run; no
// query pages past offset 0, so NetSuite's 100,000-row cap per query never applies.
func TestPast100kRowsInOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("250k rows")
	}
	const n = 250_000
	h := newHarness(t, netsuitetest.Options{Rows: map[string]int{connector.Task: n}, Seed: 21, TimeZone: "UTC"})
	res := h.mustRun([]string{connector.Task}, Options{})
	s := res.Streams[0]
	if s.Rows != n || s.Files != 3 {
		t.Fatalf("wrote %d rows in %d files, want %d in 3", s.Rows, s.Files, n)
	}
	// One query per 1000 rows (the last full page already says hasMore=false), the two
	// one-row queries that find the id range to slice, and each slice's last page; the
	// deletions are the run's, not the stream's.
	ranges := map[connector.IDRange]bool{}
	for _, q := range h.srv.Stats().Queries {
		if r, ok := sliceOf(q.Query); ok && q.Limit > 1 {
			ranges[r] = true
		}
	}
	t.Logf("%d slice ranges read", len(ranges))
	if len(ranges) < DefaultConcurrency || len(ranges) > 6*DefaultConcurrency {
		t.Errorf("%d slices, want %d to %d", len(ranges), DefaultConcurrency, 6*DefaultConcurrency)
	}
	most := n/connector.PageSize + 2 + len(ranges)
	if got := h.srv.Stats().SuiteQLRequests[connector.Task]; got < n/connector.PageSize || got > most || s.Requests != int64(got) || res.DeletionRequests != 1 {
		t.Errorf("%d task queries (%d counted, %d for deletions), want %d to %d and 1", got, s.Requests, res.DeletionRequests, n/connector.PageSize, most)
	}
	for _, q := range h.srv.Stats().Queries {
		if (q.Offset != 0 && q.Limit != 1) || q.Status != 200 {
			t.Fatalf("query at offset %d answered %d: %s", q.Offset, q.Status, q.Query)
		}
	}
	got, total := h.outputRows(connector.Task)
	if len(got) != n || total != n {
		t.Fatalf("%d distinct ids in %d rows, want %d exactly once", len(got), total, n)
	}
}

// TestThousandsOfRowsInOneSecond: 3,000 rows share one lastmodifieddate second, spread over
// pages and files, with a crash between two of those files. None is lost; after the crash
// the run resumes inside the second by id.
func TestThousandsOfRowsInOneSecond(t *testing.T) {
	clock := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, netsuitetest.Options{Now: func() time.Time { return clock }})
	for i := int64(1); i <= 3000; i++ {
		h.srv.Upsert(connector.Contact, netsuitetest.Row{"id": i * 7 % 3001, "firstname": fmt.Sprint("n", i)})
	}
	h.srv.Upsert(connector.Contact, netsuitetest.Row{"id": int64(5000)}) // same second as the rest
	clock = clock.Add(time.Second)
	h.srv.Upsert(connector.Contact, netsuitetest.Row{"id": int64(1)}) // id 1 again, a second later
	clock = clock.Add(time.Hour)

	crash := errors.New("simulated crash")
	saves := 0
	// One stream at a time: the deletions reader saves first (there are none), then the
	// records' second checkpoint fails.
	_, err := h.run([]string{connector.Contact}, Options{FileRows: 1000, StreamConcurrency: 1}, faults{state: func(step string) error {
		if step == "renamed" {
			if saves++; saves == 3 {
				return crash
			}
		}
		return nil
	}})
	if !errors.Is(err, crash) {
		t.Fatalf("first run: %v", err)
	}
	h.mustRun([]string{connector.Contact}, Options{FileRows: 1000})
	h.assertMatchesTruth(connector.Contact)
	// Every keyset continuation inside the busy second used the id, never a bare timestamp.
	sawTie := false
	for _, q := range h.srv.Stats().Queries {
		if strings.Contains(q.Query, "contact.lastmodifieddate = TO_TIMESTAMP('2025-06-01 05:00:00'") {
			sawTie = true
		}
	}
	if !sawTie {
		t.Errorf("no keyset query continued inside the shared second")
	}
}

// TestFullRefreshRereadsEverything: --full-refresh ignores the watermark, writes every
// row again and leaves a fresh watermark; counters keep adding up.
func TestFullRefreshRereadsEverything(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1500), Seed: 8})
	streams := []string{connector.Customer}
	h.mustRun(streams, Options{})
	res := h.mustRun(streams, Options{FullRefresh: true})
	if res.Streams[0].Rows != int64(len(h.srv.Truth(connector.Customer))) {
		t.Fatalf("full refresh wrote %d rows", res.Streams[0].Rows)
	}
	f, _ := state.Load(h.statePath)
	if st := f.Streams[connector.Customer]; st.RowsTotal != 2*res.Streams[0].Rows || st.Pass != nil || !st.Watermark.After(res.Streams[0].From.Add(-time.Second)) {
		t.Fatalf("state after full refresh = %+v", st)
	}
	if res := h.mustRun(streams, Options{}); res.Streams[0].Rows != 0 {
		t.Fatalf("run after the full refresh wrote %d rows", res.Streams[0].Rows)
	}
}

// TestDeletionsBecomeTombstones: records deleted between runs arrive as tombstones in the
// stream's own files; merged by id, the output equals NetSuite without them.
func TestDeletionsBecomeTombstones(t *testing.T) {
	clock := time.Now().UTC().Add(-24 * time.Hour)
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1200), Seed: 4, Now: func() time.Time { return clock }})
	streams := []string{connector.Customer, connector.PhoneCall}
	h.mustRun(streams, Options{})
	clock = clock.Add(time.Hour)
	customers := h.srv.Truth(connector.Customer)
	for _, i := range []int{0, 1, 500, 1100} {
		if !h.srv.Delete(connector.Customer, customers[i]["id"].(int64)) {
			t.Fatalf("customer %v did not exist", customers[i]["id"])
		}
	}
	h.srv.Delete(connector.PhoneCall, h.srv.Truth(connector.PhoneCall)[2]["id"].(int64))
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": customers[2]["id"], "companyname": "still here"})
	clock = clock.Add(time.Hour)
	res := h.mustRun(streams, Options{})
	want := map[string][2]int64{connector.Customer: {1, 4}, connector.PhoneCall: {0, 1}}
	for _, s := range res.Streams {
		if got := [2]int64{s.Rows, s.Deleted}; got != want[s.Stream] {
			t.Errorf("%s: rows, tombstones = %v, want %v", s.Stream, got, want[s.Stream])
		}
		h.assertMatchesTruth(s.Stream)
	}
	// A rerun reads nothing new: the deletions' watermark moved too.
	for _, s := range h.mustRun(streams, Options{}).Streams {
		if s.Rows != 0 || s.Deleted != 0 {
			t.Errorf("%s: third run wrote %d rows, %d tombstones", s.Stream, s.Rows, s.Deleted)
		}
	}
}

// TestDeletionsUnavailableWarnAndContinue: an account without deletedrecord access still
// extracts its records; the result says deletions were not read.
func TestDeletionsUnavailableWarnAndContinue(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(30), Seed: 4})
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.Contains(queryOf(r), "FROM deletedrecord") {
			return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Record 'deletedrecord' was not found."), true
		}
		return 0, "", false
	})
	res := h.mustRun([]string{connector.Task}, Options{})
	if s := res.Streams[0]; s.Rows != 30 || !s.DeletionsUnavailable {
		t.Fatalf("result = %+v", s)
	}
	f, _ := state.Load(h.statePath)
	if _, ok := f.Streams[DeletionsKey(connector.Task)]; ok {
		t.Errorf("a deletions checkpoint was saved although none were read")
	}
}
