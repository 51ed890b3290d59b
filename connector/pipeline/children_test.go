package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

var childStreams = []string{connector.CustomerAddressBook, connector.ContactAddressBook, connector.CustomerSubsidiaryRelationship}

type lineKey struct{ parent, line int64 }

// childOutput reads every file of a child stream and merges rows by (parent, line) as the
// README tells a warehouse to: the latest _extracted_at wins, a tombstone wins a tie;
// then tombstoned keys are dropped.
func (h *harness) childOutput(stream string) map[lineKey]map[string]any {
	h.t.Helper()
	spec, _ := connector.ChildOf(stream)
	files, _ := sinktest.Glob(h.out, stream, "*."+string(h.format))
	sort.Strings(files)
	merged := map[lineKey]map[string]any{}
	for _, f := range files {
		var rows []map[string]any
		if h.format == sink.Parquet {
			rows = readParquet(h.t, f)
		} else {
			rows = readNDJSON(h.t, f, h.childTypes(stream))
		}
		for _, r := range rows {
			k := lineKey{r[spec.ParentKey].(int64), r[spec.LineKey].(int64)}
			at, _ := r[connector.ExtractedAtColumn].(time.Time)
			if at.IsZero() {
				h.t.Fatalf("%s %v: no %s", stream, k, connector.ExtractedAtColumn)
			}
			if old, ok := merged[k]; ok {
				oldAt := old[connector.ExtractedAtColumn].(time.Time)
				if at.Before(oldAt) || (at.Equal(oldAt) && old[connector.DeletedColumn] == true) {
					continue
				}
			}
			merged[k] = r
		}
	}
	for k, r := range merged {
		if r[connector.DeletedColumn] == true {
			delete(merged, k)
		}
	}
	return merged
}

func (h *harness) childTypes(stream string) map[string]netsuitetest.ColumnType {
	kinds := map[string]netsuitetest.ColumnType{}
	tb, _ := connector.Table(stream)
	for _, c := range tb.Columns {
		kinds[c.Name] = netsuitetest.ColumnType(c.Kind.String())
	}
	kinds[connector.ExtractedAtColumn] = "datetime"
	if spec, _ := connector.ChildOf(stream); spec.Detail != "" {
		for _, c := range h.srv.Columns(spec.Detail) {
			if strings.HasPrefix(c.Name, "custrecord") {
				kinds[c.Name] = c.Type
			}
		}
	}
	return kinds
}

// childTruth is what NetSuite holds for a child stream, keyed like childOutput.
func (h *harness) childTruth(stream string) (map[lineKey]netsuitetest.Row, []string) {
	spec, _ := connector.ChildOf(stream)
	var rows []netsuitetest.Row
	if spec.Detail != "" {
		rows = h.srv.AddressBook(spec.Parent)
	} else {
		rows = h.srv.Truth(stream)
	}
	out := map[lineKey]netsuitetest.Row{}
	for _, r := range rows {
		out[lineKey{r[spec.ParentKey].(int64), r[spec.LineKey].(int64)}] = r
	}
	tb, _ := connector.Table(stream)
	var cols []string
	for _, c := range tb.Columns {
		if !c.Derived {
			cols = append(cols, c.Name)
		}
	}
	if spec.Detail != "" {
		// Address custom fields the account serves are columns too.
		for _, c := range h.srv.Columns(spec.Detail) {
			if strings.HasPrefix(c.Name, "custrecord") {
				cols = append(cols, c.Name)
			}
		}
	}
	return out, cols
}

// assertChildMatchesTruth compares every line of the merged output with NetSuite's.
func (h *harness) assertChildMatchesTruth(stream string) int {
	h.t.Helper()
	got := h.childOutput(stream)
	want, cols := h.childTruth(stream)
	types := h.childTypes(stream)
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 5 {
			h.t.Errorf(stream+": "+format, args...)
		}
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			report("line %v missing from the output", k)
			continue
		}
		for _, c := range cols {
			if _, absent := w[c]; !absent && c == "lastmodifieddate" && stream == connector.CustomerSubsidiaryRelationship {
				continue
			}
			if !sameValue(types[c], w[c], g[c], h.loc) {
				report("line %v column %s: output %#v, NetSuite %#v", k, c, g[c], w[c])
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			report("line %v is alive in the output but gone from NetSuite", k)
		}
	}
	if bad > 0 {
		h.t.Errorf("%s: %d mismatches (%d lines in NetSuite, %d alive in the output)", stream, bad, len(want), len(got))
	}
	return len(want)
}

func childOpts(rows int, seed int64) netsuitetest.Options {
	return netsuitetest.Options{Rows: map[string]int{connector.Customer: rows, connector.Contact: rows}, Seed: seed}
}

// queriesByTable counts the SuiteQL queries since the last ResetStats.
func (h *harness) queries() map[string]int { return h.srv.Stats().SuiteQLRequests }

// TestChildStreamsFullThenQuiet: the first run reads every address-book line and
// membership (a full read), equal to NetSuite; a run with nothing changed costs each child
// stream three queries and writes nothing.
func TestChildStreamsFullThenQuiet(t *testing.T) {
	h := newHarness(t, childOpts(1500, 41))
	res := h.mustRun(childStreams, Options{})
	for _, s := range res.Streams {
		n := h.assertChildMatchesTruth(s.Stream)
		if n < 1000 || s.Rows != int64(n) || s.Deleted != 0 || s.Unavailable != "" {
			t.Errorf("%s: %+v, NetSuite has %d lines", s.Stream, s, n)
		}
	}
	h.srv.ResetStats()
	nextSecond()
	res = h.mustRun(childStreams, Options{})
	for _, s := range res.Streams {
		if s.Rows != 0 || s.Deleted != 0 || s.Files != 0 || s.Requests != 3 {
			t.Errorf("quiet run of %s: %d rows, %d tombstones, %d files, %d requests; want nothing and 3 requests", s.Stream, s.Rows, s.Deleted, s.Files, s.Requests)
		}
		h.assertChildMatchesTruth(s.Stream)
	}
	t.Logf("quiet run, queries by table: %v", h.queries())
}

// TestAddressCustomFields: address custom fields (custrecord…, fieldtype address) are
// typed columns of both address books, in Parquet and NDJSON.
func TestAddressCustomFields(t *testing.T) {
	for _, format := range []sink.Format{sink.Parquet, sink.NDJSON} {
		t.Run(string(format), func(t *testing.T) {
			opts := childOpts(400, 47)
			opts.CustomFields = netsuitetest.StandardCustomFields()
			h := newHarness(t, opts)
			h.format = format
			res := h.mustRun([]string{connector.CustomerAddressBook, connector.ContactAddressBook}, Options{})
			for _, s := range res.Streams {
				if s.CustomColumns != 2 {
					t.Errorf("%s: %d custom columns, want the 2 address fields", s.Stream, s.CustomColumns)
				}
				h.assertChildMatchesTruth(s.Stream)
			}
		})
	}
}

// mutateBooks makes n of each kind of change to the customers' address books and
// returns a description.
func mutateBooks(t *testing.T, h *harness, n int) {
	t.Helper()
	book := h.srv.AddressBook(connector.Customer)
	if len(book) < 4*n {
		t.Fatalf("only %d lines", len(book))
	}
	for i := 0; i < n; i++ {
		h.srv.EditAddress(connector.Customer, book[i]["internalid"].(int64), netsuitetest.Row{"city": fmt.Sprintf("Neustadt %d", i), "addrtext": fmt.Sprintf("Straße %d\nNeustadt", i)})
		h.srv.SetAddressLine(connector.Customer, book[n+i]["internalid"].(int64), netsuitetest.Row{"label": fmt.Sprintf("Relabelled %d", i), "defaultbilling": true})
		h.srv.RemoveAddressLine(connector.Customer, book[2*n+i]["internalid"].(int64))
		h.srv.AddAddressLine(connector.Customer, book[3*n+i]["entity"].(int64), netsuitetest.Row{"label": "New", "addr1": fmt.Sprintf("%d Main St", i), "city": "Springfield", "country": "US"})
	}
}

// TestAddressBookChangesAreExact: 50 addresses edited in place, 50 lines relabelled or
// made default, 50 removed, 50 added, and 5 customers deleted: one incremental run later
// the merged output equals NetSuite's address books, removed lines and the lines of
// deleted customers carrying tombstones.
func TestAddressBookChangesAreExact(t *testing.T) {
	h := newHarness(t, childOpts(1500, 42))
	streams := []string{connector.CustomerAddressBook, connector.CustomerSubsidiaryRelationship}
	h.mustRun(streams, Options{})
	mutateBooks(t, h, 50)
	for id := int64(1); id <= 5; id++ {
		h.srv.Delete(connector.Customer, id*7)
	}
	h.srv.ResetStats()
	nextSecond()
	res := h.mustRun(streams, Options{})
	for _, s := range res.Streams {
		h.assertChildMatchesTruth(s.Stream)
		t.Logf("%s after the changes: %d rows, %d tombstones, %d requests", s.Stream, s.Rows, s.Deleted, s.Requests)
	}
	if ab := res.Streams[0]; ab.Deleted < 50 || ab.Rows < 100 || ab.Requests > 8 {
		t.Errorf("address book: %d rows, %d tombstones, %d requests", ab.Rows, ab.Deleted, ab.Requests)
	}
}

// TestBookChangesNotStampedOnTheParent: if NetSuite saved line changes without moving the
// customer's lastmodifieddate, an incremental run would see only the edited addresses;
// the periodic full read catches the rest.
func TestBookChangesNotStampedOnTheParent(t *testing.T) {
	opts := childOpts(600, 43)
	opts.BookChangesKeepParentLMD = true
	h := newHarness(t, opts)
	streams := []string{connector.CustomerAddressBook}
	h.mustRun(streams, Options{})
	mutateBooks(t, h, 10)
	nextSecond()
	res := h.mustRun(streams, Options{FullScanInterval: time.Nanosecond})
	h.assertChildMatchesTruth(connector.CustomerAddressBook)
	if s := res.Streams[0]; s.Deleted != 10 {
		t.Errorf("%d tombstones, want the 10 removed lines", s.Deleted)
	}
}

// TestChildStreamsWhereAccountsDiffer: no OneWorld (the membership table does not exist),
// no lastmodifieddate on memberships, a role that sees no addresses.
func TestChildStreamsWhereAccountsDiffer(t *testing.T) {
	t.Run("no OneWorld", func(t *testing.T) {
		opts := childOpts(100, 44)
		opts.NoOneWorld = true
		h := newHarness(t, opts)
		res := h.mustRun(childStreams, Options{})
		if s := res.Streams[2]; !strings.Contains(s.Unavailable, "customersubsidiaryrelationship") || s.Rows != 0 {
			t.Fatalf("memberships: %+v", s)
		}
		h.assertChildMatchesTruth(connector.CustomerAddressBook)
	})
	t.Run("memberships without lastmodifieddate", func(t *testing.T) {
		opts := childOpts(300, 45)
		opts.NoSubsidiaryLastModified = true
		h := newHarness(t, opts)
		streams := []string{connector.CustomerSubsidiaryRelationship}
		res := h.mustRun(streams, Options{})
		if d := res.Streams[0].DroppedColumns; len(d) != 1 || d[0].Column != "lastmodifieddate" {
			t.Fatalf("dropped %+v", d)
		}
		id := h.srv.Truth(connector.Customer)[3]["id"].(int64)
		added := h.srv.AddSubsidiary(id, 99, false)
		for _, m := range h.srv.Truth(connector.CustomerSubsidiaryRelationship) {
			if m["isprimarysub"] == false {
				h.srv.RemoveSubsidiary(m["id"].(int64))
				break
			}
		}
		nextSecond()
		res = h.mustRun(streams, Options{})
		if s := res.Streams[0]; s.Rows != 1 || s.Deleted != 1 || s.Requests != 3 {
			t.Errorf("after one added and one removed membership (%d): %+v", added, s)
		}
		h.assertChildMatchesTruth(connector.CustomerSubsidiaryRelationship)
	})
	t.Run("no address permission", func(t *testing.T) {
		opts := childOpts(50, 46)
		opts.NoAddressPermission = true
		h := newHarness(t, opts)
		res := h.mustRun([]string{connector.CustomerAddressBook}, Options{})
		if s := res.Streams[0]; s.Rows != 0 || !strings.Contains(s.Warning, "permission") {
			t.Fatalf("%+v", s)
		}
	})
}

// TestChildKillAtEveryStep stops a child stream at every step of the data flow — in its
// first full read and in an incremental pass — then changes NetSuite (lines removed,
// added, edited) before one clean rerun, whose merged output must equal NetSuite: the
// line index may never forget a line the output holds alive.
func TestChildKillAtEveryStep(t *testing.T) {
	steps := []string{"page-fetched", string(sink.StepWritten), string(sink.StepFsynced), string(sink.StepRenamed),
		string(sink.StepDirSynced), "temp-written", "temp-synced", "state-renamed"}
	streams := []string{connector.CustomerAddressBook}
	for _, phase := range []string{"full read", "incremental"} {
		nths := []int32{1, 3} // a full read checkpoints after each of its files
		if phase == "incremental" {
			nths = []int32{1} // a pass writes its one file and one checkpoint
		}
		for _, step := range steps {
			for _, nth := range nths {
				t.Run(fmt.Sprintf("%s/%s#%d", phase, step, nth), func(t *testing.T) {
					// About 2,300 lines: three pages and a dozen files in the full read.
					h := newHarness(t, childOpts(1500, int64(len(step))+int64(nth)))
					opts := Options{FileRows: 200}
					if phase == "incremental" {
						h.mustRun(streams, opts)
						mutateBooks(t, h, 30)
						nextSecond()
					}
					_, at, f := killAt(step, nth)
					killed := opts
					killed.stepHook = at
					if _, err := h.run(streams, killed, f); err == nil {
						t.Fatalf("the run was not killed at %s #%d", step, nth)
					}
					// NetSuite moves on before the rerun: lines the killed run may have
					// written are removed, others added and edited.
					mutateBooks(t, h, 7)
					nextSecond()
					h.mustRun(streams, opts)
					h.assertChildMatchesTruth(connector.CustomerAddressBook)
				})
			}
		}
	}
}

// TestFullReadResumes: a full read stopped after some files resumes after the last line
// its checkpoint names instead of reading everything again, then catches up with what
// changed meanwhile.
func TestFullReadResumes(t *testing.T) {
	h := newHarness(t, childOpts(2500, 48))
	streams := []string{connector.CustomerAddressBook}
	stop := fmt.Errorf("stopped")
	saves := 0
	_, err := h.run(streams, Options{FileRows: 1000}, faults{state: func(step string) error {
		if step == "renamed" {
			if saves++; saves == 2 {
				return stop
			}
		}
		return nil
	}})
	if err == nil {
		t.Fatal("not stopped")
	}
	mutateBooks(t, h, 5)
	h.srv.ResetStats()
	nextSecond()
	res := h.mustRun(streams, Options{FileRows: 1000})
	s := res.Streams[0]
	if !s.Resumed {
		t.Fatal("the full read was not resumed")
	}
	// About 3,900 lines, 4 pages; two files' worth were read before the stop.
	if n := h.queries()[connector.CustomerAddressBook]; n > 4 {
		t.Errorf("the resumed read sent %d queries to the address book, want at most the remaining pages and the catch-up", n)
	}
	h.assertChildMatchesTruth(connector.CustomerAddressBook)
}

// TestChildUsesItsParentsPass: with its parent record stream in the run, an incremental
// read of a child stream takes the parents that changed from the parent's pass over the
// same window, and the parents deleted from the run's deletions reader, instead of asking
// NetSuite (a quiet run costs it one query, not three), and finds lines added and removed
// through their parents, and the lines of deleted parents, all the same. When the windows
// differ (the parent's state was reset), the child asks NetSuite itself.
func TestChildUsesItsParentsPass(t *testing.T) {
	h := newHarness(t, childOpts(1200, 43))
	streams := []string{connector.CustomerAddressBook, connector.Customer}
	h.mustRun(streams, Options{})
	nextSecond()
	res := h.mustRun(streams, Options{})
	if ab := res.Streams[0]; ab.Requests != 1 || ab.Rows != 0 {
		t.Errorf("quiet run of the address book beside its parent: %d requests, %d rows; want 1 and none", ab.Requests, ab.Rows)
	}
	book := h.srv.AddressBook(connector.Customer)
	h.srv.RemoveAddressLine(connector.Customer, book[5]["internalid"].(int64))
	h.srv.AddAddressLine(connector.Customer, book[40]["entity"].(int64), netsuitetest.Row{"label": "New", "addr1": "1 Main St", "city": "Springfield", "country": "US"})
	gone := book[80]["entity"].(int64)
	lines := 0
	for _, l := range book {
		if l["entity"] == gone {
			lines++
		}
	}
	if !h.srv.Delete(connector.Customer, gone) {
		t.Fatalf("customer %d not deleted", gone)
	}
	nextSecond()
	res = h.mustRun(streams, Options{})
	if ab := res.Streams[0]; ab.Rows != 1 || ab.Deleted != int64(1+lines) {
		t.Errorf("after one line added, one removed and a customer with %d lines deleted: %d rows, %d tombstones", lines, ab.Rows, ab.Deleted)
	}
	h.assertChildMatchesTruth(connector.CustomerAddressBook)

	st, err := state.Open(h.statePath, account)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Reset(connector.Customer); err != nil {
		t.Fatal(err)
	}
	st.Close()
	nextSecond()
	res = h.mustRun(streams, Options{})
	if ab := res.Streams[0]; ab.Requests != 2 || ab.Rows != 0 {
		t.Errorf("quiet run of the address book while its parent reads all history: %d requests, %d rows; want 2 (its deletions still shared) and none", ab.Requests, ab.Rows)
	}
	h.assertChildMatchesTruth(connector.CustomerAddressBook)
}

// TestFullReadStoppedBeforeItsLastCheckpointFinishes: a full read that committed its new
// index generation but stopped before the checkpoint naming it is finished by the next
// run from what is durable — it is neither refused as corrupt nor read again.
func TestFullReadStoppedBeforeItsLastCheckpointFinishes(t *testing.T) {
	h := newHarness(t, childOpts(800, 5))
	streams := []string{connector.CustomerAddressBook}
	stop := fmt.Errorf("stopped")
	committed := filepath.Join(h.statePath+".index", connector.CustomerAddressBook+".1.idx")
	_, err := h.run(streams, Options{FileRows: 300}, faults{state: func(step string) error {
		if _, statErr := os.Stat(committed); step == "temp-written" && statErr == nil {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Fatalf("not stopped after the index commit: %v", err)
	}
	if st, _ := state.Load(h.statePath); st.Streams[connector.CustomerAddressBook].Scan == nil {
		t.Fatal("the checkpoint does not show the full read in progress")
	}
	h.srv.ResetStats()
	res := h.mustRun(streams, Options{FileRows: 300})
	if s := res.Streams[0]; s.Rows != 0 {
		t.Errorf("the finished read was read again: %d rows", s.Rows)
	}
	st, _ := state.Load(h.statePath)
	if got := st.Streams[connector.CustomerAddressBook]; got.Scan != nil || got.IndexGen != 1 || got.Watermark.IsZero() {
		t.Errorf("checkpoint after the rerun: scan %v, index gen %d, watermark %v", got.Scan, got.IndexGen, got.Watermark)
	}
	mutateBooks(t, h, 5)
	nextSecond()
	h.mustRun(streams, Options{FileRows: 300})
	h.assertChildMatchesTruth(connector.CustomerAddressBook)
}
