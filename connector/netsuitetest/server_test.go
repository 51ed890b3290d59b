package netsuitetest

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	fetchToken(t, s)
	mustQuery(t, s, tok, "SELECT id FROM customer WHERE id > ?", 10, 20, "9000000")
	suiteQL(t, s, tok, "SELECT nosuch FROM customer", 1000, 0)
	suiteQL(t, s, "bad-token", "SELECT id FROM Contact", 1000, 0)
	mustQuery(t, s, tok, "SELECT SESSIONTIMEZONE FROM DUAL", -1, -1)
	suiteQL(t, s, tok, "SELEC id FROM task", 1000, 0)

	st := s.Stats()
	want := map[string]int{"customer": 2, "contact": 1, "dual": 1, "task": 1}
	if !reflect.DeepEqual(st.SuiteQLRequests, want) {
		t.Errorf("SuiteQLRequests = %v, want %v", st.SuiteQLRequests, want)
	}
	if st.TokenRequests != 2 {
		t.Errorf("TokenRequests = %d, want 2", st.TokenRequests)
	}
	if len(st.Queries) != 5 {
		t.Fatalf("Queries = %+v", st.Queries)
	}
	q0 := st.Queries[0]
	if q0.Table != "customer" || q0.Limit != 10 || q0.Offset != 20 || q0.Status != 200 || !reflect.DeepEqual(q0.Params, []string{"9000000"}) ||
		!strings.HasPrefix(q0.Query, "SELECT id FROM customer") {
		t.Errorf("Queries[0] = %+v", q0)
	}
	if st.Queries[1].Status != 400 || st.Queries[2].Status != 401 || st.Queries[3].Limit != 1000 {
		t.Errorf("statuses/limits: %+v", st.Queries)
	}
	if st.MaxInFlight < 1 {
		t.Errorf("MaxInFlight = %d", st.MaxInFlight)
	}

	// Snapshots are copies.
	st.SuiteQLRequests["customer"] = 99
	if s.Stats().SuiteQLRequests["customer"] != 2 {
		t.Error("Stats() shares its map with the server")
	}
	s.ResetStats()
	if st := s.Stats(); len(st.Queries) != 0 || st.TokenRequests != 0 || len(st.SuiteQLRequests) != 0 || st.MaxInFlight != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}

// TestMaxInFlight holds n requests inside the server at once with a fault
// hook that waits until all have arrived, then lets them proceed normally.
func TestMaxInFlight(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"task": 10}})
	tok := fetchToken(t, s)
	s.ResetStats()
	const n = 6
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	s.SetFault(func(r *http.Request) (int, string, bool) {
		arrived.Done()
		<-release
		return 0, "", false
	})
	var done sync.WaitGroup
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			if r := suiteQL(t, s, tok, "SELECT id FROM task", 1000, 0); r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		}()
	}
	arrived.Wait()
	close(release)
	done.Wait()
	s.SetFault(nil)
	st := s.Stats()
	if st.MaxInFlight != n || st.SuiteQLRequests["task"] != n {
		t.Errorf("MaxInFlight %d, task requests %d; want %d", st.MaxInFlight, st.SuiteQLRequests["task"], n)
	}
}

func TestFaultInjection(t *testing.T) {
	s := startServer(t, Options{})
	tok := fetchToken(t, s)
	calls := 0
	s.SetFault(func(r *http.Request) (int, string, bool) {
		if r.URL.Path != suiteQLPath {
			return 0, "", false
		}
		calls++
		if calls == 1 {
			return http.StatusTooManyRequests, ConcurrencyLimitBody(), true
		}
		return 0, "", false
	})
	r := suiteQL(t, s, tok, "SELECT SESSIONTIMEZONE FROM DUAL", -1, -1)
	if r.status != 429 || r.err.code() != "CONCURRENCY_LIMIT_EXCEEDED" || r.err.Title != "Bad Request" ||
		!strings.Contains(r.err.detail(), "Concurrent request limit exceeded") {
		t.Errorf("injected: %d %s", r.status, r.raw)
	}
	if r := suiteQL(t, s, tok, "SELECT SESSIONTIMEZONE FROM DUAL", -1, -1); r.status != 200 {
		t.Errorf("after fault: %d", r.status)
	}
	st := s.Stats()
	if st.SuiteQLRequests["dual"] != 2 || st.Queries[0].Status != 429 || st.Queries[1].Status != 200 {
		t.Errorf("stats: %+v", st)
	}
}

func TestUpsertDeleteTruth(t *testing.T) {
	c := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 750_000_000, time.UTC)}
	s := startServer(t, Options{Rows: map[string]int{"contact": 5}, Now: c.Now})
	tok := fetchToken(t, s)

	if cols := s.Columns("contact"); len(cols) != 17 || cols[0] != (Column{Name: "id", Type: TypeInteger}) || cols[10] != (Column{Name: "datecreated", Type: TypeDatetime}) {
		t.Errorf("Columns(contact) = %v", cols)
	}
	if s.Columns("nosuch") != nil {
		t.Error("Columns of an unknown table")
	}

	got := s.Upsert("contact", Row{"id": int64(9100000), "firstname": "Zoë", "lastname": "", "isinactive": false, "company": 0})
	stamp := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	want := Row{"id": int64(9100000), "entityid": nil, "firstname": "Zoë", "lastname": nil, "email": nil, "phone": nil,
		"company": int64(0), "title": nil, "subsidiary": nil, "isinactive": false, "datecreated": stamp, "lastmodifieddate": stamp,
		"supervisor": nil, "contactsource": nil, "externalid": nil, "defaultbillingaddress": nil, "defaultshippingaddress": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Upsert insert\n got %v\nwant %v", got, want)
	}

	c.Advance(time.Hour)
	tok = fetchToken(t, s) // the first one just expired
	got = s.Upsert("contact", Row{"id": 9100000, "email": "zoe@example.com"})
	if got["firstname"] != "Zoë" || got["email"] != "zoe@example.com" || got["datecreated"] != stamp || got["lastmodifieddate"] != stamp.Add(time.Hour) {
		t.Errorf("Upsert update = %v", got)
	}
	it := item(t, s, tok, "SELECT id, email, lastmodifieddate, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM contact WHERE id = 9100000")
	if it["email"] != "zoe@example.com" || it["lastmodifieddate"] != "3/1/2025" || it["lmd"] != "2025-03-01 05:00:00" {
		t.Errorf("served %v", it)
	}

	truth := s.Truth("contact")
	if len(truth) != 6 || truth[5]["id"] != int64(9100000) {
		t.Fatalf("Truth: %d rows, last %v", len(truth), truth[len(truth)-1]["id"])
	}
	for i := 1; i < len(truth); i++ {
		if truth[i-1]["id"].(int64) >= truth[i]["id"].(int64) {
			t.Errorf("Truth not sorted by id at %d", i)
		}
	}
	truth[5]["email"] = "mutated"
	if s.Truth("contact")[5]["email"] != "zoe@example.com" {
		t.Error("Truth returned shared rows")
	}

	first := truth[0]["id"].(int64)
	if !s.Delete("contact", first) || s.Delete("contact", first) {
		t.Error("Delete reported wrongly")
	}
	if p := mustQuery(t, s, tok, "SELECT id FROM contact ORDER BY id", 1000, 0); p.total() != 5 || p.Items[0]["id"] == truth[0]["id"] {
		t.Errorf("after delete: %v", p.Items)
	}
	// Deleting moved the last row; its id must still be found by Upsert.
	s.Upsert("contact", Row{"id": 9100000, "title": "CEO"})
	if n := len(s.Truth("contact")); n != 5 {
		t.Errorf("update after delete inserted a row: %d rows", n)
	}

	dr := s.Upsert("deletedrecord", Row{"recordid": 42, "recordtypeid": -2, "type": "customer"})
	if dr["deleteddate"] != stamp.Add(time.Hour) {
		t.Errorf("deletedrecord row %v", dr)
	}
	// The contact deleted above is recorded too, as NetSuite records every deletion.
	p := mustQuery(t, s, tok, "SELECT recordid, type FROM deletedrecord ORDER BY type", 1000, 0)
	if p.total() != 2 || p.Items[0]["type"] != "contact" || p.Items[0]["recordid"] != fmt.Sprint(first) || p.Items[1]["type"] != "customer" {
		t.Errorf("deletedrecord query %v", p.Items)
	}
}

func TestUpsertMisusePanics(t *testing.T) {
	s := startServer(t, Options{})
	for name, r := range map[string]Row{
		"unknown column": {"id": 1, "nosuch": 1},
		"wrong type":     {"id": 1, "isinactive": "yes"},
		"missing id":     {"email": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			s.Upsert("customer", r)
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"unknown zone":      {TimeZone: "Mars/Olympus"},
		"unknown table":     {Rows: map[string]int{"vendor": 3}},
		"missing fixtures":  {FixturesDir: "testdata/no-such-dir"},
		"bad fixture value": {FixturesDir: "testdata/badfixture"},
		"bad date format":   {DateFormat: "YY.MM"},
	} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	// A directory without a file for some table is fine: those tables are empty.
	s := startServer(t, Options{FixturesDir: "testdata/badfixture/.."})
	if n := len(s.Truth("customer")); n != 0 {
		t.Errorf("customer rows %d", n)
	}
}

func TestDeleteRecordsTheDeletion(t *testing.T) {
	clock := fixedNow
	s := startServer(t, Options{Rows: map[string]int{"task": 3}, Now: func() time.Time { return clock }})
	clock = clock.Add(time.Hour)
	if !s.Delete("task", 2) || s.Delete("task", 2) {
		t.Fatal("Delete of an existing id must succeed once")
	}
	rows := s.Truth("deletedrecord")
	if len(rows) != 1 || rows[0]["recordid"] != int64(2) || rows[0]["type"] != "task" || !rows[0]["deleteddate"].(time.Time).Equal(clock) {
		t.Fatalf("deletedrecord = %v", rows)
	}
	if len(s.Truth("task")) != 2 {
		t.Fatalf("task rows = %d", len(s.Truth("task")))
	}
}

func TestDeletionsOfEqualIDsOfOtherTypesAreSeparate(t *testing.T) {
	s := startServer(t, Options{})
	s.Upsert("customer", Row{"id": int64(7)})
	s.Upsert("task", Row{"id": int64(7)})
	s.Delete("customer", 7)
	s.Delete("task", 7)
	if rows := s.Truth("deletedrecord"); len(rows) != 2 || rows[0]["type"] == rows[1]["type"] {
		t.Fatalf("deletedrecord = %v, want one row per deleted record", rows)
	}
}
