package netsuitetest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestParserAccepts runs statements NetSuite accepts and checks the number of
// rows they return from the fixtures.
func TestParserAccepts(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	tests := []struct {
		name   string
		q      string
		params []any
		want   int // totalResults
	}{
		{"plain", "SELECT id FROM customer", nil, 7},
		{"case-insensitive keywords and names", "select ID, EntityId from CUSTOMER where ISINACTIVE = 'T' order by Id", nil, 2},
		{"table alias", "SELECT c.id, c.email FROM customer c WHERE c.id > 9000005", nil, 2},
		{"table-name qualifier", "SELECT customer.id FROM customer WHERE customer.id <= 9000002", nil, 2},
		{"select star", "SELECT * FROM contact", nil, 5},
		{"where 1=1", "SELECT id FROM customer WHERE 1=1 AND id > 9000003", nil, 4},
		{"between binds", "SELECT id FROM customer WHERE id BETWEEN ? AND ?", []any{"9000002", "9000004"}, 3},
		{"numeric bind", "SELECT id FROM customer WHERE id = ?", []any{9000003}, 1},
		{"in list", "SELECT id FROM customer WHERE id IN (9000001, 9000003, 1)", nil, 2},
		{"not in", "SELECT id FROM customer WHERE id NOT IN (9000001, 9000003)", nil, 5},
		{"is not null and not", "SELECT id FROM customer WHERE email IS NOT NULL AND NOT (isinactive = 'T')", nil, 3},
		{"numeric string vs integer", "SELECT id FROM customer WHERE id = '9000003'", nil, 1},
		{"decimal vs integer", "SELECT id FROM customer WHERE id > 9000001.5", nil, 6},
		{"float column", "SELECT id FROM customer WHERE balance < 0", nil, 2},
		{"to_date lower-case format", "SELECT id FROM customer WHERE lastmodifieddate >= TO_DATE('2024-11-01 00:00:00','yyyy-mm-dd hh24:mi:ss')", nil, 5},
		{"to_timestamp bind with FF and quoted T", "SELECT id FROM customer WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD\"T\"HH24:MI:SS.FF3')", []any{"2024-11-03T01:30:00.000"}, 3},
		{"to_char, desc nulls last, !=", "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS lmd FROM customer WHERE id != 1 ORDER BY lastmodifieddate DESC NULLS LAST, id", nil, 7},
		{"order by position", "SELECT email, id FROM customer ORDER BY 2 DESC", nil, 7},
		{"comments", "SELECT id -- the key\nFROM customer /* all of them */ WHERE id > 0", nil, 7},
		{"date column", "SELECT id FROM customer WHERE firstorderdate = TO_DATE('1970-01-01', 'YYYY-MM-DD')", nil, 1},
		{"or with null literal", "SELECT id FROM customer WHERE email = NULL OR id = 9000001", nil, 1},
		{"deletedrecord is catalogued", "SELECT recordid, recordtypeid, deleteddate FROM deletedrecord ORDER BY recordid", nil, 0},
		{"sessiontimezone", "SELECT SESSIONTIMEZONE FROM DUAL", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustQuery(t, s, tok, tc.q, 1000, 0, tc.params...)
			if p.total() != tc.want {
				t.Errorf("totalResults = %d, want %d; items %v", p.total(), tc.want, p.Items)
			}
		})
	}
}

// TestParserRejects checks that what NetSuite rejects is rejected with
// NetSuite's error shape and a clear detail.
func TestParserRejects(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	tests := []struct {
		name   string
		q      string
		params []any
		detail string // substring of the detail
	}{
		{"unknown column", "SELECT id, xyz FROM customer", nil, "Unknown identifier 'xyz'."},
		{"unknown column in where", "SELECT id FROM customer WHERE custentity_foo = 'x'", nil, "Unknown identifier 'custentity_foo'"},
		{"unknown column in order by", "SELECT id FROM customer ORDER BY nosuch", nil, "Unknown identifier 'nosuch'"},
		{"wrong qualifier with alias", "SELECT customer.id FROM customer c", nil, "Unknown identifier 'customer.id'"},
		{"activity column on entity", "SELECT createddate FROM customer", nil, "Unknown identifier 'createddate'"},
		{"unknown table", "SELECT id FROM customers", nil, "Record 'customers' was not found."},
		{"row value comparison", "SELECT id FROM customer WHERE (lastmodifieddate, id) > (TO_TIMESTAMP('2024-01-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS'), 5)", nil, "row value"},
		{"limit clause", "SELECT id FROM customer ORDER BY id LIMIT 10", nil, "LIMIT is not supported"},
		{"offset clause", "SELECT id FROM customer ORDER BY id OFFSET 10 ROWS", nil, "OFFSET"},
		{"fetch first", "SELECT id FROM customer ORDER BY id FETCH FIRST 10 ROWS ONLY", nil, "FETCH FIRST"},
		{"top", "SELECT TOP 10 id FROM customer", nil, "TOP"},
		{"with", "WITH x AS (SELECT id FROM customer) SELECT id FROM x", nil, "WITH"},
		{"right join", "SELECT c.id FROM customer c RIGHT JOIN contact k ON k.company = c.id", nil, "RIGHT JOINs are not supported"},
		{"comma join", "SELECT c.id FROM customer c, contact k", nil, "comma joins"},
		{"subquery", "SELECT id FROM customer WHERE id IN (SELECT company FROM contact)", nil, "subquer"},
		{"FF in TO_DATE", "SELECT id FROM customer WHERE lastmodifieddate > TO_DATE('2024-01-01 00:00:00.000', 'YYYY-MM-DD HH24:MI:SS.FF3')", nil, "FF"},
		{"string vs datetime", "SELECT id FROM customer WHERE lastmodifieddate > '2024-01-01'", nil, "TO_DATE"},
		{"string bind vs datetime", "SELECT id FROM customer WHERE lastmodifieddate > ?", []any{"1/1/2024"}, "TO_TIMESTAMP"},
		{"number vs date", "SELECT id FROM customer WHERE firstorderdate = 20240101", nil, "TO_DATE"},
		{"unquoted T in format", "SELECT id FROM customer WHERE lastmodifieddate > TO_TIMESTAMP('2024-01-01T00:00:00', 'YYYY-MM-DDTHH24:MI:SS')", nil, "date format not recognized"},
		{"unknown format element", "SELECT TO_CHAR(lastmodifieddate, 'DD-MON-YYYY') FROM customer", nil, "date format not recognized"},
		{"text does not match format", "SELECT id FROM customer WHERE lastmodifieddate > TO_TIMESTAMP('2024/01/01', 'YYYY-MM-DD')", nil, "does not match"},
		{"extra input", "SELECT id FROM customer WHERE lastmodifieddate > TO_TIMESTAMP('2024-01-01 10:00', 'YYYY-MM-DD')", nil, "ends before converting"},
		{"invalid month", "SELECT id FROM customer WHERE lastmodifieddate > TO_TIMESTAMP('2024-13-01', 'YYYY-MM-DD')", nil, "not a valid month"},
		{"to_timestamp without format", "SELECT id FROM customer WHERE lastmodifieddate > TO_TIMESTAMP('2024-01-01 00:00:00')", nil, "explicit format"},
		{"to_char on text", "SELECT TO_CHAR(email, 'YYYY') FROM customer", nil, "TO_CHAR"},
		{"to_char without format", "SELECT TO_CHAR(lastmodifieddate) FROM customer", nil, "explicit format"},
		{"sessiontimezone outside dual", "SELECT SESSIONTIMEZONE FROM customer", nil, "DUAL"},
		{"invalid number", "SELECT id FROM customer WHERE id = 'abc'", nil, "invalid number"},
		{"text vs number", "SELECT id FROM customer WHERE email = 5", nil, "text"},
		{"too many in values", "SELECT id FROM customer WHERE id IN (" + strings.Join(many, ",") + ")", nil, "1000"},
		{"semicolon", "SELECT id FROM customer;", nil, "';'"},
		{"missing binds", "SELECT id FROM customer WHERE id > ? AND id < ?", []any{"1"}, "bind"},
		{"AS before table alias", "SELECT c.id FROM customer AS c", nil, "AS"},
		{"star with columns", "SELECT *, id FROM customer", nil, "SELECT *"},
		{"duplicate output key", "SELECT id, id FROM customer", nil, "duplicate"},
		{"function", "SELECT BUILTIN.DF(entitystatus) FROM customer", nil, "not supported"},
		{"unterminated string", "SELECT id FROM customer WHERE email = 'x", nil, "not properly terminated"},
		{"like", "SELECT id FROM customer WHERE email LIKE '%x'", nil, "LIKE"},
		{"dangling where", "SELECT id FROM customer WHERE", nil, "syntax error"},
	}
	const prefix = "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := suiteQL(t, s, tok, tc.q, 1000, 0, tc.params...)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", r.status, r.raw)
			}
			if r.err.Status != 400 || r.err.Title != "Bad Request" || r.err.code() != "INVALID_PARAMETER" {
				t.Errorf("error shape = %+v", r.err)
			}
			if !strings.HasPrefix(r.err.detail(), prefix) {
				t.Errorf("detail %q lacks NetSuite's prefix", r.err.detail())
			}
			if !strings.Contains(r.err.detail(), tc.detail) {
				t.Errorf("detail %q does not contain %q", r.err.detail(), tc.detail)
			}
		})
	}
}

// TestWhereSemantics checks values, not just acceptance: NULL logic, empty
// strings, session-zone resolution of timestamps across DST, dates.
func TestWhereSemantics(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures"})
	tok := fetchToken(t, s)
	const ts = "'YYYY-MM-DD HH24:MI:SS'"
	tests := []struct {
		name  string
		where string
		want  []string // ids in id order
	}{
		{"null never equals", "email = 'nobody'", nil},
		{"null is excluded by <>", "email <> 'party@example.com'", []string{"9000001", "9000003", "9000004", "9000007"}},
		{"NOT unknown stays unknown", "NOT (email = 'party@example.com')", []string{"9000001", "9000003", "9000004", "9000007"}},
		{"is null", "email IS NULL", []string{"9000002", "9000005"}},
		{"empty string is null", "companyname = ''", nil},
		{"empty fixture text stored as null", "companyname IS NULL AND isperson = 'T'", []string{"9000002", "9000004"}},
		{"false booleans", "isinactive = 'F' AND isperson = 'F'", []string{"9000001", "9000005", "9000007"}},
		{"zero", "balance = 0", []string{"9000001"}},
		{"autumn overlap resolves to the earlier instant", "lastmodifieddate = TO_TIMESTAMP('2024-11-03 01:30:00', " + ts + ")", []string{"9000001", "9000005"}},
		{"second pass is later", "lastmodifieddate > TO_TIMESTAMP('2024-11-03 01:30:00', " + ts + ") AND lastmodifieddate < TO_TIMESTAMP('2024-11-03 03:00:00', " + ts + ")", []string{"9000002", "9000006"}},
		{"spring gap shifts forward", "lastmodifieddate = TO_TIMESTAMP('2024-03-10 02:00:00', " + ts + ")", []string{"9000004"}},
		{"just before the gap", "lastmodifieddate < TO_TIMESTAMP('2024-03-10 02:30:00', " + ts + ") AND lastmodifieddate > TO_DATE('2024-03-10', 'YYYY-MM-DD')", []string{"9000003", "9000004"}},
		{"fractional seconds", "lastmodifieddate > TO_TIMESTAMP('2024-03-10 01:59:58.500', 'YYYY-MM-DD HH24:MI:SS.FF3') AND lastmodifieddate < TO_TIMESTAMP('2024-03-10 01:59:59.5', 'YYYY-MM-DD HH24:MI:SS.FF')", []string{"9000003"}},
		{"12 AM is midnight", "lastmodifieddate = TO_TIMESTAMP('2025-01-01 12:00:00 AM', 'YYYY-MM-DD HH:MI:SS AM')", []string{"9000007"}},
		{"12 PM is noon", "lastmodifieddate = TO_TIMESTAMP('2025-01-01 12:00:00 PM', 'YYYY-MM-DD HH:MI:SS AM')", nil},
		{"meridian element accepts either", "lastmodifieddate = TO_TIMESTAMP('01/01/2025 12:00:00 AM', 'MM/DD/YYYY HH12:MI:SS PM') OR lastmodifieddate = TO_TIMESTAMP('2025-01-01 00:00:00', " + ts + ")", []string{"9000007"}},
		{"far-future date", "firstorderdate > TO_DATE('2999-12-30', 'YYYY-MM-DD')", []string{"9000002"}},
		{"date between", "firstorderdate BETWEEN TO_DATE('2024-03-10','YYYY-MM-DD') AND TO_DATE('2024-11-03','YYYY-MM-DD')", []string{"9000003", "9000006"}},
		{"keyset predicate", "lastmodifieddate > TO_TIMESTAMP('2024-11-03 01:30:00', " + ts + ") OR (lastmodifieddate = TO_TIMESTAMP('2024-11-03 01:30:00', " + ts + ") AND id > 9000001)", []string{"9000002", "9000005", "9000006", "9000007"}},
		{"in with null", "parent IN (9000001, NULL)", []string{"9000002"}},
		{"not in with null is never true", "parent NOT IN (1, NULL)", nil},
		{"column vs column", "datecreated = lastmodifieddate", []string{"9000004", "9000007"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustQuery(t, s, tok, "SELECT id FROM customer WHERE "+tc.where+" ORDER BY id", 1000, 0)
			var got []string
			for _, it := range p.Items {
				got = append(got, it["id"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
