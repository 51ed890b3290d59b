package netsuitetest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPagingParameters(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"customer": 50}})
	tok := fetchToken(t, s)
	tests := []struct {
		name   string
		query  string // raw query string
		status int
		detail string
	}{
		{"defaults", "", 200, ""},
		{"limit 1000", "limit=1000", 200, ""},
		{"limit 1", "limit=1&offset=7", 200, ""},
		{"limit over 1000", "limit=1001", 400, "limit"},
		{"limit zero", "limit=0", 400, "limit"},
		{"limit not a number", "limit=ten", 400, "limit"},
		{"offset negative", "offset=-1000", 400, "offset"},
		{"offset not a number", "limit=10&offset=1.5", 400, "offset"},
		{"offset not a multiple of limit", "limit=1000&offset=500", 400, "multiple"},
		{"offset multiple of default limit", "offset=2000", 200, ""},
		{"last window", "limit=1000&offset=99000", 200, ""},
		{"past the cap", "limit=1000&offset=100000", 400, "exceeds 100000"},
		{"straddling the cap", "limit=300&offset=99900", 400, "exceeds 100000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := s.URL() + suiteQLPath
			if tc.query != "" {
				u += "?" + tc.query
			}
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"q":"SELECT id FROM customer ORDER BY id"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Prefer", "transient")
			req.Header.Set("Content-Type", "application/json")
			r := send(t, req)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.status == 400 {
				if r.err.code() != "INVALID_PARAMETER" || !strings.Contains(r.err.detail(), tc.detail) {
					t.Errorf("error %+v, want INVALID_PARAMETER mentioning %q", r.err, tc.detail)
				}
			}
		})
	}
}

func TestPagingEnvelope(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"contact": 2500}, Seed: 3})
	tok := fetchToken(t, s)
	const q = "SELECT id FROM contact ORDER BY id"
	all := s.Truth("contact")
	tests := []struct {
		limit, offset       int
		count               int
		hasMore             bool
		links               []string
		firstID, next, last string
	}{
		{1000, 0, 1000, true, []string{"next", "last", "self"}, fmt.Sprint(all[0]["id"]), "limit=1000&offset=1000", "limit=1000&offset=2000"},
		{1000, 1000, 1000, true, []string{"first", "prev", "next", "last", "self"}, fmt.Sprint(all[1000]["id"]), "limit=1000&offset=2000", "limit=1000&offset=2000"},
		{1000, 2000, 500, false, []string{"first", "prev", "self"}, fmt.Sprint(all[2000]["id"]), "", ""},
		{500, 3000, 0, false, []string{"first", "prev", "self"}, "", "", ""},
		{-1, -1, 1000, true, []string{"next", "last", "self"}, fmt.Sprint(all[0]["id"]), "limit=1000&offset=1000", "limit=1000&offset=2000"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("limit=%d,offset=%d", tc.limit, tc.offset), func(t *testing.T) {
			p := mustQuery(t, s, tok, q, tc.limit, tc.offset)
			if p.count() != tc.count || len(p.Items) != tc.count || p.HasMore != tc.hasMore || p.total() != 2500 {
				t.Errorf("count %v items %d hasMore %v total %v", p.Count, len(p.Items), p.HasMore, p.TotalResults)
			}
			var rels []string
			for _, l := range p.Links {
				rels = append(rels, l.Rel)
			}
			if !slices.Equal(rels, tc.links) {
				t.Errorf("links %v, want %v", rels, tc.links)
			}
			if tc.firstID != "" && p.Items[0]["id"] != tc.firstID {
				t.Errorf("first id %v, want %v", p.Items[0]["id"], tc.firstID)
			}
			if tc.next != "" && !strings.HasSuffix(p.link("next"), tc.next) {
				t.Errorf("next %q, want …%s", p.link("next"), tc.next)
			}
			if tc.last != "" && !strings.HasSuffix(p.link("last"), tc.last) {
				t.Errorf("last %q, want …%s", p.link("last"), tc.last)
			}
		})
	}
}

// TestHundredThousandCap: a query matching more than 100,000 rows still
// reports its true totalResults, serves up to row 100,000 and then stops.
func TestHundredThousandCap(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,200 rows")
	}
	s := startServer(t, Options{Rows: map[string]int{"task": 100_200}, Seed: 5})
	tok := fetchToken(t, s)
	p := mustQuery(t, s, tok, "SELECT id FROM task ORDER BY id", 1000, 99_000)
	if p.total() != 100_200 || p.count() != 1000 || p.HasMore {
		t.Errorf("total %d count %d hasMore %v; want 100200, 1000, false", p.total(), p.count(), p.HasMore)
	}
	if !strings.HasSuffix(p.link("prev"), "offset=98000") || p.link("next") != "" {
		t.Errorf("links %+v", p.Links)
	}
	r := suiteQL(t, s, tok, "SELECT id FROM task ORDER BY id", 1000, 100_000)
	if r.status != 400 || !strings.Contains(r.err.detail(), "exceeds 100000") {
		t.Errorf("past the cap: %d %s", r.status, r.raw)
	}
}

// TestTieOrderIsRandom: without a unique ORDER BY, tied rows come back in a
// different order on every request (so offset paging repeats/skips rows);
// with id in the ORDER BY the order is stable.
func TestTieOrderIsRandom(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"customer": 2000}, Seed: 11})
	tok := fetchToken(t, s)
	ids := func(q string) string {
		p := mustQuery(t, s, tok, q, 1000, 0)
		var b strings.Builder
		for _, it := range p.Items {
			b.WriteString(it["id"].(string) + ",")
		}
		return b.String()
	}
	for _, q := range []string{"SELECT id FROM customer", "SELECT id FROM customer ORDER BY isinactive", "SELECT id FROM customer ORDER BY lastmodifieddate"} {
		a, b := ids(q), ids(q)
		if a == b {
			t.Errorf("%q: identical order twice; ties must be broken randomly per request", q)
		}
	}
	const stable = "SELECT id FROM customer ORDER BY isinactive, id"
	if ids(stable) != ids(stable) {
		t.Errorf("%q: order changed although it is unique", stable)
	}

	// Offset paging with a non-unique order: the union of pages is usually
	// not the whole table. Real NetSuite behaves this way too.
	seen := map[string]int{}
	for off := 0; off < 2000; off += 200 {
		for _, it := range mustQuery(t, s, tok, "SELECT id FROM customer ORDER BY isinactive", 200, off).Items {
			seen[it["id"].(string)]++
		}
	}
	if len(seen) == 2000 {
		t.Errorf("offset paging over a non-unique order returned every row exactly once; expected repeats/misses")
	}
}

// TestOrderBySemantics: NULLs last ascending (first descending), and an
// ORDER BY name that matches a TO_CHAR alias sorts by the text, as Oracle
// does: in the repeated autumn hour text order differs from instant order.
func TestOrderBySemantics(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	col := func(p page, k string) []string {
		var out []string
		for _, it := range p.Items {
			v, _ := it[k].(string)
			out = append(out, v)
		}
		return out
	}
	p := mustQuery(t, s, tok, "SELECT id, email FROM customer ORDER BY email, id", 1000, 0)
	if got := col(p, "email"); got[len(got)-1] != "" || got[len(got)-2] != "" || got[0] == "" {
		t.Errorf("ASC: NULLs not last: %v", got)
	}
	p = mustQuery(t, s, tok, "SELECT id, email FROM customer ORDER BY email DESC, id", 1000, 0)
	if got := col(p, "email"); got[0] != "" || got[1] != "" {
		t.Errorf("DESC: NULLs not first: %v", got)
	}
	p = mustQuery(t, s, tok, "SELECT id, email FROM customer ORDER BY email NULLS FIRST, id", 1000, 0)
	if got := col(p, "email"); got[0] != "" {
		t.Errorf("NULLS FIRST ignored: %v", got)
	}

	// 9000006: 02:00 PST (10:00Z); 9000002: 01:30 PST (09:30Z); 9000001: 01:30 PDT (08:30Z).
	const where = " FROM customer WHERE id IN (9000001, 9000002, 9000006) ORDER BY lastmodifieddate, id"
	byInstant := col(mustQuery(t, s, tok, "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd"+where, 1000, 0), "id")
	byText := col(mustQuery(t, s, tok, "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate"+where, 1000, 0), "id")
	if want := []string{"9000001", "9000002", "9000006"}; !slices.Equal(byInstant, want) {
		t.Errorf("by instant %v, want %v", byInstant, want)
	}
	// Text order: "01:30:00" (both passes, tie broken by id) before "02:00:00".
	if want := []string{"9000001", "9000002", "9000006"}; !slices.Equal(byText, want) {
		t.Errorf("by text %v, want %v", byText, want)
	}
	// With a format whose text order is not chronological the alias sort is textual.
	byMonthFirst := col(mustQuery(t, s, tok, "SELECT id, TO_CHAR(lastmodifieddate, 'MM/DD/YYYY') AS lastmodifieddate FROM customer WHERE id IN (9000003, 9000007) ORDER BY lastmodifieddate, id", 1000, 0), "id")
	if want := []string{"9000007", "9000003"}; !slices.Equal(byMonthFirst, want) {
		t.Errorf("MM/DD/YYYY text order %v, want %v (01/01/2025 < 03/10/2024 as text)", byMonthFirst, want)
	}
}

// keysetRead pages through a table like a careful connector: a unique order
// on (lastmodifieddate, id), offset always 0, cursor from the last row as
// TO_CHAR text. It returns every id read, in order.
func keysetRead(t *testing.T, s *Server, tok, table string, binds bool) []int64 {
	t.Helper()
	const ts = "'YYYY-MM-DD HH24:MI:SS'"
	sel := "SELECT id, TO_CHAR(lastmodifieddate, " + ts + ") AS lmd FROM " + table
	var out []int64
	cursorLMD, cursorID := "", ""
	for req := 0; ; req++ {
		if req > 1000 {
			t.Fatal("keyset read does not terminate")
		}
		var p page
		switch {
		case cursorLMD == "":
			p = mustQuery(t, s, tok, sel+" ORDER BY lastmodifieddate, id", 1000, 0)
		case binds:
			p = mustQuery(t, s, tok, sel+" WHERE lastmodifieddate > TO_TIMESTAMP(?, "+ts+") OR (lastmodifieddate = TO_TIMESTAMP(?, "+ts+") AND id > ?) ORDER BY lastmodifieddate, id",
				1000, 0, cursorLMD, cursorLMD, cursorID)
		default:
			p = mustQuery(t, s, tok, fmt.Sprintf("%s WHERE lastmodifieddate > TO_TIMESTAMP('%s', %s) OR (lastmodifieddate = TO_TIMESTAMP('%s', %s) AND id > %s) ORDER BY lastmodifieddate, id",
				sel, cursorLMD, ts, cursorLMD, ts, cursorID), 1000, 0)
		}
		for _, it := range p.Items {
			var id int64
			fmt.Sscan(it["id"].(string), &id)
			out = append(out, id)
		}
		if !p.HasMore {
			return out
		}
		last := p.Items[len(p.Items)-1]
		cursorLMD, cursorID = last["lmd"].(string), last["id"].(string)
	}
}

// TestKeysetPagingUTC: in a zone without DST the keyset returns every row
// exactly once, across bursts of thousands of rows sharing one second.
func TestKeysetPagingUTC(t *testing.T) {
	for _, binds := range []bool{false, true} {
		t.Run(fmt.Sprintf("binds=%v", binds), func(t *testing.T) {
			s := startServer(t, Options{TimeZone: "UTC", Rows: map[string]int{"customer": 20_000}, Seed: 42, FixturesDir: "../../testdata/fixtures"})
			got := keysetRead(t, s, fetchToken(t, s), "customer", binds)
			truth := s.Truth("customer")
			if len(got) != len(truth) {
				t.Fatalf("read %d rows, table has %d", len(got), len(truth))
			}
			seen := map[int64]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("id %d read twice", id)
				}
				seen[id] = true
			}
			for _, r := range truth {
				if !seen[r["id"].(int64)] {
					t.Fatalf("id %v never read", r["id"])
				}
			}
		})
	}
}

// TestKeysetPagingDST: with a DST session zone, a cursor taken from local
// TO_CHAR text is ambiguous in the repeated autumn hour (TO_TIMESTAMP picks
// the earlier instant). Every row is still read, and the only rows read
// twice are ones inside a repeated hour: the connector must dedupe by id.
func TestKeysetPagingDST(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"phonecall": 20_000}, Seed: 9, FixturesDir: "../../testdata/fixtures"})
	got := keysetRead(t, s, fetchToken(t, s), "phonecall", true)
	lmd := map[int64]time.Time{}
	for _, r := range s.Truth("phonecall") {
		lmd[r["id"].(int64)] = r["lastmodifieddate"].(time.Time)
	}
	count := map[int64]int{}
	for _, id := range got {
		count[id]++
	}
	if len(count) != len(lmd) {
		t.Fatalf("read %d distinct ids, table has %d", len(count), len(lmd))
	}
	for id, n := range count {
		if n > 1 && !inRepeatedHour(s, lmd[id]) {
			t.Errorf("id %d (lmd %v) read %d times outside a repeated hour", id, lmd[id], n)
		}
	}
}

// inRepeatedHour reports whether the instant's local time occurs twice.
func inRepeatedHour(s *Server, at time.Time) bool {
	sec := at.Unix()
	wall := s.zone.wallOf(sec)
	return s.zone.wallOf(sec-3600) == wall || s.zone.wallOf(sec+3600) == wall
}

// TestPagingSeesCurrentData: each request reads the data as it is now; an
// update made between pages moves the row to the end of the keyset order.
func TestPagingSeesCurrentData(t *testing.T) {
	clock := fixedNow
	s := startServer(t, Options{Rows: map[string]int{"task": 1500}, Seed: 1, Now: func() time.Time { return clock }})
	tok := fetchToken(t, s)
	const q = "SELECT id FROM task ORDER BY lastmodifieddate, id"
	first := mustQuery(t, s, tok, q, 1000, 0)
	updated := first.Items[0]["id"].(string)
	var id int64
	fmt.Sscan(updated, &id)
	s.Upsert("task", Row{"id": id, "message": "edited"})
	second := mustQuery(t, s, tok, q, 1000, 1000)
	if got := second.Items[len(second.Items)-1]["id"]; got != updated {
		t.Errorf("last row of page 2 = %v, want the updated row %v", got, updated)
	}
	if second.total() != 1500 {
		t.Errorf("total %d", second.total())
	}
}
