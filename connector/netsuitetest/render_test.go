package netsuitetest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestOracleNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {-0.0, "0"}, {0.5, ".5"}, {-0.25, "-.25"}, {1234.5, "1234.5"}, {10, "10"},
		{-1500, "-1500"}, {0.01, ".01"}, {1e6, "1000000"}, {62.5, "62.5"}, {123456789.125, "123456789.125"},
	}
	for _, tc := range tests {
		if got := oracleNumber(tc.in); got != tc.want {
			t.Errorf("oracleNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// item returns the single item of a one-row query.
func item(t *testing.T, s *Server, tok, q string) map[string]any {
	t.Helper()
	p := mustQuery(t, s, tok, q, 1000, 0)
	if len(p.Items) != 1 {
		t.Fatalf("%q: %d items, want 1", q, len(p.Items))
	}
	return p.Items[0]
}

func TestRenderValues(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	const cols = "SELECT id, companyname, email, phone, isinactive, isperson, balance, creditlimit, currency, defaultbillingaddress, firstorderdate, datecreated, lastmodifieddate FROM customer WHERE id = "
	tests := []struct {
		id   string
		want map[string]any
	}{
		{"9000001", map[string]any{
			"links": []any{}, "id": "9000001", "companyname": "Société Générale 中文 🚀", "email": "compta@société.example",
			"phone": "+33 1 23 45 67 89", "isinactive": "F", "isperson": "F", "balance": "0", "creditlimit": ".5",
			"currency": "1", "defaultbillingaddress": "0", "firstorderdate": "1/1/1970", "datecreated": "2/29/2020",
			"lastmodifieddate": "11/3/2024",
		}},
		{"9000002", map[string]any{ // empty strings and NULLs are omitted
			"links": []any{}, "id": "9000002", "isinactive": "F", "isperson": "T", "balance": "-.25", "currency": "2",
			"firstorderdate": "12/31/2999", "datecreated": "11/3/2024", "lastmodifieddate": "11/3/2024",
		}},
		{"9000003", map[string]any{
			"links": []any{}, "id": "9000003", "companyname": `O'Brien, "Quoted" & Co.`, "email": "billing@obrien.example",
			"phone": "+1 (555) 010-0003", "isinactive": "T", "isperson": "F", "balance": "1234.5", "creditlimit": "10000",
			"currency": "1", "defaultbillingaddress": "90000031", "firstorderdate": "3/10/2024", "datecreated": "3/9/2024",
			"lastmodifieddate": "3/10/2024",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			got := item(t, s, tok, cols+tc.id)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("item\n got %v\nwant %v", got, tc.want)
			}
		})
	}

	// Multi-line Unicode text survives the round trip unchanged.
	got := item(t, s, tok, "SELECT message FROM calendarevent WHERE id = 9000201")
	if want := "Agenda:\n1. \"Intro\"\n2. Pricing, terms\n3. 🎉"; got["message"] != want {
		t.Errorf("message = %q, want %q", got["message"], want)
	}
}

// TestToCharAcrossDST checks TO_CHAR renders in the session zone, so the two
// passes of the repeated hour print the same text, and the spring gap jumps.
func TestToCharAcrossDST(t *testing.T) {
	const q = "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd, TO_CHAR(lastmodifieddate, 'HH12:MI AM') AS h12, TO_CHAR(firstorderdate, 'YYYY-MM-DD HH24:MI:SS') AS fod FROM customer WHERE id IN (9000001, 9000002, 9000003, 9000004) ORDER BY id"
	tests := []struct {
		zone string
		want []string // lmd per id
		h12  []string
	}{
		{"America/Los_Angeles",
			[]string{"2024-11-03 01:30:00", "2024-11-03 01:30:00", "2024-03-10 01:59:59", "2024-03-10 03:00:00"},
			[]string{"01:30 AM", "01:30 AM", "01:59 AM", "03:00 AM"}},
		{"UTC",
			[]string{"2024-11-03 08:30:00", "2024-11-03 09:30:00", "2024-03-10 09:59:59", "2024-03-10 10:00:00"},
			[]string{"08:30 AM", "09:30 AM", "09:59 AM", "10:00 AM"}},
		{"Europe/Berlin",
			[]string{"2024-11-03 09:30:00", "2024-11-03 10:30:00", "2024-03-10 10:59:59", "2024-03-10 11:00:00"},
			[]string{"09:30 AM", "10:30 AM", "10:59 AM", "11:00 AM"}},
	}
	for _, tc := range tests {
		t.Run(tc.zone, func(t *testing.T) {
			s := startServer(t, Options{TimeZone: tc.zone, FixturesDir: "../../testdata/fixtures"})
			p := mustQuery(t, s, fetchToken(t, s), q, 1000, 0)
			for i, it := range p.Items {
				if it["lmd"] != tc.want[i] || it["h12"] != tc.h12[i] {
					t.Errorf("id %v: lmd %v / %v, want %v / %v", it["id"], it["lmd"], it["h12"], tc.want[i], tc.h12[i])
				}
			}
			if p.Items[0]["fod"] != "1970-01-01 00:00:00" {
				t.Errorf("date TO_CHAR = %v", p.Items[0]["fod"])
			}
		})
	}
}

func TestDateFormatPreference(t *testing.T) {
	tests := []struct{ pref, want string }{
		{"M/D/YYYY", "11/3/2024"},
		{"D/M/YYYY", "3/11/2024"},
		{"YYYY-MM-DD", "2024-11-03"},
		{"DD/MM/YYYY", "03/11/2024"},
	}
	for _, tc := range tests {
		t.Run(tc.pref, func(t *testing.T) {
			s := startServer(t, Options{DateFormat: tc.pref, FixturesDir: "../../testdata/fixtures"})
			got := item(t, s, fetchToken(t, s), "SELECT lastmodifieddate FROM customer WHERE id = 9000002")
			if got["lastmodifieddate"] != tc.want {
				t.Errorf("lastmodifieddate = %v, want %v", got["lastmodifieddate"], tc.want)
			}
		})
	}
	if _, err := New(Options{DateFormat: "MON DD YYYY"}); err == nil {
		t.Error("New accepted an unsupported date format preference")
	}
}

func TestExpressionKeys(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	tests := []struct {
		q    string
		want []string
	}{
		{"SELECT SESSIONTIMEZONE FROM DUAL", []string{"expr1"}},
		{"SELECT SESSIONTIMEZONE AS tz FROM DUAL", []string{"expr1"}},
		{"SELECT id, TO_CHAR(datecreated, 'YYYY'), TO_CHAR(lastmodifieddate, 'YYYY') AS y, TO_CHAR(lastmodifieddate, 'MM') FROM customer WHERE id = 9000001",
			[]string{"id", "expr1", "y", "expr3"}},
		{"SELECT id AS \"x\" FROM customer WHERE id = 9000001", nil}, // quoted identifiers rejected
	}
	for _, tc := range tests {
		r := suiteQL(t, s, tok, tc.q, 1000, 0)
		if tc.want == nil {
			if r.status != 400 {
				t.Errorf("%q: status %d, want 400", tc.q, r.status)
			}
			continue
		}
		if r.status != 200 {
			t.Fatalf("%q: %s", tc.q, r.raw)
		}
		for _, k := range tc.want {
			if _, ok := r.page.Items[0][k]; !ok {
				t.Errorf("%q: key %q missing in %v", tc.q, k, r.page.Items[0])
			}
		}
	}
	if got := item(t, s, tok, "SELECT SESSIONTIMEZONE AS tz FROM DUAL")["expr1"]; got != "America/Los_Angeles" {
		t.Errorf("SESSIONTIMEZONE = %v", got)
	}
}

func TestSessionTimeZoneAsOffset(t *testing.T) {
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{fixedNow, "-08:00"},
		{time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC), "-07:00"},
	} {
		s := startServer(t, Options{TimeZoneAsOffset: true, Now: func() time.Time { return tc.now }})
		got := item(t, s, fetchToken(t, s), "SELECT SESSIONTIMEZONE FROM DUAL")["expr1"]
		if got != tc.want {
			t.Errorf("at %v: SESSIONTIMEZONE = %v, want %v", tc.now, got, tc.want)
		}
	}
}

func TestEnvelopeOptions(t *testing.T) {
	s := startServer(t, Options{StringEnvelope: true, UpperCaseKeys: true, FixturesDir: "../../testdata/fixtures"})
	r := suiteQL(t, s, fetchToken(t, s), "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY') FROM customer WHERE id = 9000001", 1000, 0)
	var raw struct {
		Count, Offset, TotalResults any
		HasMore                     any `json:"hasMore"`
		Items                       []map[string]any
	}
	if err := json.Unmarshal(r.raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Count != "1" || raw.Offset != "0" || raw.TotalResults != "1" || raw.HasMore != false {
		t.Errorf("envelope = %+v", raw)
	}
	if it := raw.Items[0]; it["ID"] != "9000001" || it["EXPR1"] != "2024" {
		t.Errorf("upper-case keys: %v", it)
	}
}
