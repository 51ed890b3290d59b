package netsuitetest

import (
	"net/http"
	"testing"
	"time"
)

func BenchmarkGenerate250k(b *testing.B) {
	z := sessionZone{loc: mustLoc(b, "America/Los_Angeles")}
	def, _ := lookupTableDef("customer")
	for b.Loop() {
		generate(newTable(def), 250_000, 1, fixedNow, z)
	}
}

// BenchmarkKeyset250k measures one keyset page request (HTTP round trip
// included) over 250,000 generated customers, the shape of a connector's
// incremental read: WHERE lmd > t OR (lmd = t AND id > k) ORDER BY lmd, id.
func BenchmarkKeyset250k(b *testing.B) {
	s := startServer(b, Options{Rows: map[string]int{"customer": 250_000}, Seed: 7})
	tok := fetchToken(b, s)
	truth := s.Truth("customer")
	mid := truth[len(truth)/2]
	lmd := mid["lastmodifieddate"].(time.Time).In(s.zone.loc).Format("2006-01-02 15:04:05")
	const q = "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd, companyname, email, balance FROM customer " +
		"WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') OR (lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?) " +
		"ORDER BY lastmodifieddate, id"
	b.ResetTimer()
	for b.Loop() {
		r := suiteQL(b, s, tok, q, 1000, 0, lmd, lmd, "0")
		if r.status != http.StatusOK || r.page.count() != 1000 {
			b.Fatalf("status %d count %d", r.status, r.page.count())
		}
	}
}

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// BenchmarkKeysetEngine250k is the server-side share of the request above:
// compile, filtered scan, bounded selection and rendering, without HTTP or
// the client's JSON decoding.
func BenchmarkKeysetEngine250k(b *testing.B) {
	s := startServer(b, Options{Rows: map[string]int{"customer": 250_000}, Seed: 7})
	truth := s.Truth("customer")
	lmd := truth[len(truth)/2]["lastmodifieddate"].(time.Time).In(s.zone.loc).Format("2006-01-02 15:04:05")
	const q = "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd, companyname, email, balance FROM customer " +
		"WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') OR (lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?) " +
		"ORDER BY lastmodifieddate, id"
	binds := []bindValue{{text: lmd}, {text: lmd}, {text: "0"}}
	b.ResetTimer()
	for b.Loop() {
		pq, err := parseSuiteQL(q)
		if err != nil {
			b.Fatal(err)
		}
		p, err := compile(pq, s.tables["customer"], compileEnv{zone: s.zone, now: fixedNow, binds: binds})
		if err != nil {
			b.Fatal(err)
		}
		rows, total := p.selectPage(0, 1000, 1)
		if len(rows) != 1000 {
			b.Fatalf("%d rows", len(rows))
		}
		s.renderPage(p, rows, total, 1000, 0)
	}
}
