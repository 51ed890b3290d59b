package netsuitetest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// joinAccount builds a small account whose joins the tests can reason about
// (fixedNow is 10:30 PST; each step below is one minute later):
//
//	customer 1 Alpha    subsidiary 1, also 5   lines 1 HQ (Berlin, DE, billing), 2 Shipping (Paris, FR, shipping)
//	customer 2 Beta     subsidiary 2           line 3 (no label; 千代田区, JP, both defaults)
//	customer 3 Gamma    subsidiary 1, also 2   line 4 Warehouse (no city, US)
//	customer 4 Delta    subsidiary 3           no lines
//	contact 10 Анна     company 1              line 5 Home (Москва, RU)
//
// The addresses' lastmodifieddates are 10:31 … 10:35 PST by line.
func joinAccount(t *testing.T, opts Options) (*Server, *clock) {
	t.Helper()
	c := &clock{now: fixedNow}
	opts.Now = c.Now
	opts.AccessTokenTTL = 1000 * time.Hour // the tests move the clock
	s := startServer(t, opts)
	for i, name := range []string{"Alpha", "Beta", "Gamma", "Delta"} {
		s.Upsert("customer", Row{"id": int64(i + 1), "companyname": name, "subsidiary": []int64{1, 2, 1, 3}[i], "currency": int64(1)})
	}
	s.Upsert("contact", Row{"id": int64(10), "firstname": "Анна", "company": int64(1)})
	steps := []func() int64{
		func() int64 {
			return s.AddAddressLine("customer", 1, Row{"label": "HQ", "defaultbilling": true, "addr1": "Friedrichstraße 43", "city": "Berlin", "country": "DE", "zip": "10117"})
		},
		func() int64 {
			return s.AddAddressLine("customer", 1, Row{"label": "Shipping", "defaultshipping": true, "addr1": "12 rue de l'Église", "city": "Paris", "country": "FR"})
		},
		func() int64 {
			return s.AddAddressLine("customer", 2, Row{"defaultbilling": true, "defaultshipping": true, "addr1": "丸の内1-1-1", "city": "千代田区", "country": "JP"})
		},
		func() int64 {
			return s.AddAddressLine("customer", 3, Row{"label": "Warehouse", "addr1": "1 Main St", "addr2": "Suite 5", "country": "US"})
		},
		func() int64 {
			return s.AddAddressLine("contact", 10, Row{"label": "Home", "city": "Москва", "country": "RU"})
		},
	}
	for i, step := range steps {
		c.Advance(time.Minute)
		if id := step(); id != int64(i+1) {
			t.Fatalf("line %d got internalid %d", i+1, id)
		}
	}
	if !opts.NoOneWorld {
		c.Advance(time.Minute)
		s.AddSubsidiary(1, 5, false)
		c.Advance(time.Minute)
		s.AddSubsidiary(3, 2, false)
	}
	return s, c
}

// cells renders items as "a|b;c|d" over cols, "∅" for an omitted (NULL) key.
func cells(items []map[string]any, cols []string) string {
	var rows []string
	for _, it := range items {
		var vs []string
		for _, c := range cols {
			v, ok := it[c]
			if !ok {
				vs = append(vs, "∅")
				continue
			}
			vs = append(vs, fmt.Sprint(v))
		}
		rows = append(rows, strings.Join(vs, "|"))
	}
	return strings.Join(rows, ";")
}

const (
	abJoinEA = "customeraddressbook ab JOIN customeraddressbookentityaddress ea ON ea.nkey = ab.addressbookaddress"
	ts       = "'YYYY-MM-DD HH24:MI:SS'"
)

func TestJoinQueries(t *testing.T) {
	s, _ := joinAccount(t, Options{})
	tok := fetchToken(t, s)
	tests := []struct {
		name   string
		q      string
		params []any
		cols   string
		want   string
	}{
		{"inner join with aliases", "SELECT ab.entity, ab.internalid, ab.label, ea.city FROM " + abJoinEA + " ORDER BY ab.entity, ab.internalid", nil,
			"entity internalid label city", "1|1|HQ|Berlin;1|2|Shipping|Paris;2|3|∅|千代田区;3|4|Warehouse|∅"},
		{"left join keeps a parent without lines", "SELECT c.id, ab.internalid FROM customer c LEFT JOIN customeraddressbook ab ON ab.entity = c.id ORDER BY c.id, ab.internalid", nil,
			"id internalid", "1|1;1|2;2|3;3|4;4|∅"},
		{"LEFT OUTER JOIN", "SELECT c.id, ab.internalid FROM customer c LEFT OUTER JOIN customeraddressbook ab ON ab.entity = c.id ORDER BY c.id, ab.internalid", nil,
			"id internalid", "1|1;1|2;2|3;3|4;4|∅"},
		{"INNER JOIN drops it", "SELECT c.id, ab.internalid FROM customer c INNER JOIN customeraddressbook ab ON c.id = ab.entity ORDER BY c.id, ab.internalid", nil,
			"id internalid", "1|1;1|2;2|3;3|4"},
		{"three tables", "SELECT c.companyname, ab.internalid, ea.country FROM customer c JOIN customeraddressbook ab ON ab.entity = c.id JOIN customeraddressbookentityaddress ea ON ea.nkey = ab.addressbookaddress ORDER BY ea.country", nil,
			"companyname internalid country", "Alpha|1|DE;Alpha|2|FR;Beta|3|JP;Gamma|4|US"},
		{"three tables, two left joins", "SELECT c.id, ea.city FROM customer c LEFT JOIN customeraddressbook ab ON ab.entity = c.id LEFT JOIN customeraddressbookentityaddress ea ON ab.addressbookaddress = ea.nkey ORDER BY c.id, ab.internalid", nil,
			"id city", "1|Berlin;1|Paris;2|千代田区;3|∅;4|∅"},
		{"table names as qualifiers", "SELECT customeraddressbook.internalid, customeraddressbookentityaddress.zip FROM customeraddressbook JOIN customeraddressbookentityaddress ON customeraddressbookentityaddress.nkey = customeraddressbook.addressbookaddress WHERE customeraddressbookentityaddress.zip IS NOT NULL", nil,
			"internalid zip", "1|10117"},
		{"unqualified names that one table has", "SELECT entity, internalid, city FROM customeraddressbook JOIN customeraddressbookentityaddress ON nkey = addressbookaddress WHERE country = 'FR'", nil,
			"entity internalid city", "1|2|Paris"},
		{"WHERE on both sides with OR", "SELECT c.id, ab.internalid FROM customer c JOIN customeraddressbook ab ON ab.entity = c.id WHERE c.companyname = 'Gamma' OR ab.label = 'HQ' ORDER BY c.id", nil,
			"id internalid", "1|1;3|4"},
		{"TO_TIMESTAMP bind on the right table's datetime", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ea.lastmodifieddate >= TO_TIMESTAMP(?, " + ts + ") ORDER BY ab.internalid", []any{"2025-01-20 10:33:00"},
			"internalid", "3;4"},
		{"TO_DATE bound, strict", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ea.lastmodifieddate < TO_DATE('2025-01-20 10:32:30', " + ts + ") ORDER BY ab.internalid", nil,
			"internalid", "1;2"},
		{"TO_CHAR of the right table's datetime", "SELECT ab.internalid, TO_CHAR(ea.lastmodifieddate, " + ts + ") AS lmd FROM " + abJoinEA + " WHERE ab.entity = 2", nil,
			"internalid lmd", "3|2025-01-20 10:33:00"},
		{"raw datetime of the right table", "SELECT ab.internalid, ea.lastmodifieddate FROM " + abJoinEA + " WHERE ab.entity = 2", nil,
			"internalid lastmodifieddate", "3|1/20/2025"},
		{"IN", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ab.entity IN (1, 3, 99) ORDER BY ab.internalid", nil,
			"internalid", "1;2;4"},
		{"NOT IN on the right table", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ea.country NOT IN ('DE', 'JP') ORDER BY ab.internalid", nil,
			"internalid", "2;4"},
		{"IS NULL on the NULL side of a LEFT JOIN", "SELECT c.id FROM customer c LEFT JOIN customeraddressbook ab ON ab.entity = c.id WHERE ab.internalid IS NULL", nil,
			"id", "4"},
		{"ORDER BY columns of both tables", "SELECT c.id, ab.internalid FROM customer c JOIN customeraddressbook ab ON ab.entity = c.id ORDER BY c.subsidiary DESC, ab.internalid DESC", nil,
			"id internalid", "2|3;3|4;1|2;1|1"},
		{"ORDER BY a select alias and a position", "SELECT ea.city AS town, ab.internalid FROM " + abJoinEA + " ORDER BY town NULLS FIRST, 2", nil,
			"town internalid", "∅|4;Berlin|1;Paris|2;千代田区|3"},
		{"two ANDed equalities", "SELECT c.id, csr.subsidiary FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id AND csr.subsidiary = c.subsidiary ORDER BY c.id", nil,
			"id subsidiary", "1|1;2|2;3|1;4|3"},
		{"memberships repeat the customer", "SELECT c.id, csr.subsidiary, csr.isprimarysub FROM customer c JOIN customersubsidiaryrelationship csr ON (csr.entity = c.id) ORDER BY c.id, csr.subsidiary", nil,
			"id subsidiary isprimarysub", "1|1|T;1|5|F;2|2|T;3|1|T;3|2|F;4|3|T"},
		{"SELECT * over a join", "SELECT * FROM contactaddressbook ab JOIN contactaddressbookentityaddress ea ON ea.nkey = ab.addressbookaddress", nil,
			"entity internalid label defaultbilling nkey city country recordowner", "10|5|Home|F|100004|Москва|RU|10"},
		{"binds and a column comparison across tables in WHERE", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ab.entity = ? AND ea.recordowner = ab.entity ORDER BY ab.internalid", []any{"1"},
			"internalid", "1;2"},
		{"entityaddress holds the contact's address too", "SELECT ab.entity, e.city FROM contactaddressbook ab JOIN entityaddress e ON e.nkey = ab.addressbookaddress", nil,
			"entity city", "10|Москва"},
		{"a NULL key matches nothing", "SELECT c.id, csr.id AS m FROM customer c LEFT JOIN customersubsidiaryrelationship csr ON csr.entity = c.parent ORDER BY c.id", nil,
			"id m", "1|∅;2|∅;3|∅;4|∅"},
		{"default address joined from the customer", "SELECT c.id, ea.city FROM customer c JOIN customeraddressbookentityaddress ea ON ea.nkey = c.defaultbillingaddress ORDER BY c.id", nil,
			"id city", "1|Berlin;2|千代田区"},
		{"a keyset over the join", "SELECT ab.entity, ab.internalid FROM " + abJoinEA + " WHERE (ab.entity > 1 OR (ab.entity = 1 AND ab.internalid > 1)) ORDER BY ab.entity, ab.internalid", nil,
			"entity internalid", "1|2;2|3;3|4"},
		{"lower-case and upper-case keywords", "select AB.INTERNALID from CustomerAddressBook ab inner join CUSTOMERADDRESSBOOKENTITYADDRESS EA on EA.NKEY = AB.ADDRESSBOOKADDRESS where EA.CITY = 'Paris'", nil,
			"internalid", "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustQuery(t, s, tok, tc.q, 1000, 0, tc.params...)
			if got := cells(p.Items, strings.Fields(tc.cols)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if p.total() != len(p.Items) {
				t.Errorf("totalResults %d, %d items", p.total(), len(p.Items))
			}
		})
	}
}

// qualifiedList is the served columns of tables as a join's Unknown
// identifier message lists them: qual.column, …
func qualifiedList(s *Server, quals map[string]string, tables ...string) string {
	var out []string
	for _, tb := range tables {
		for _, c := range s.Columns(tb) {
			out = append(out, quals[tb]+"."+c.Name)
		}
	}
	return strings.Join(out, ", ")
}

func columnList(s *Server, table string, drop ...string) string {
	var out []string
	for _, c := range s.Columns(table) {
		if !slices.Contains(drop, c.Name) {
			out = append(out, c.Name)
		}
	}
	return strings.Join(out, ", ")
}

func TestJoinRejects(t *testing.T) {
	s, _ := joinAccount(t, Options{})
	tok := fetchToken(t, s)
	cq := map[string]string{"customer": "c", "customersubsidiaryrelationship": "csr", "customeraddressbook": "ab", "customeraddressbookentityaddress": "ea"}
	tests := []struct {
		name   string
		q      string
		detail string // the whole detail after the search prefix; a leading "~" means a substring
	}{
		{"ambiguous in the select list", "SELECT lastmodifieddate FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id",
			"ORA-00918: column ambiguously defined: 'lastmodifieddate' is a column of c and csr; qualify it with the table name or alias"},
		{"ambiguous in ON", "SELECT c.companyname FROM customer c JOIN customersubsidiaryrelationship csr ON entity = id",
			"ORA-00918: column ambiguously defined: 'id' is a column of c and csr; qualify it with the table name or alias"},
		{"ambiguous in WHERE", "SELECT c.id AS cid FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id WHERE subsidiary = 1",
			"ORA-00918: column ambiguously defined: 'subsidiary' is a column of c and csr; qualify it with the table name or alias"},
		{"ambiguous in ORDER BY", "SELECT c.id AS cid FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id ORDER BY id",
			"ORA-00918: column ambiguously defined: 'id' is a column of c and csr; qualify it with the table name or alias"},
		{"the table name when it has an alias", "SELECT customer.id FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id",
			"Unknown identifier 'customer.id'. Available identifiers are: {" + qualifiedList(s, cq, "customer", "customersubsidiaryrelationship") + "}"},
		{"unknown column of a named table", "SELECT csr.nosuch FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id",
			"Unknown identifier 'nosuch'. Available identifiers are: {id, entity, subsidiary, isprimarysub, primarycurrency, lastmodifieddate}"},
		{"unknown unqualified column", "SELECT nosuch FROM " + abJoinEA,
			"Unknown identifier 'nosuch'. Available identifiers are: {" + qualifiedList(s, cq, "customeraddressbook", "customeraddressbookentityaddress") + "}"},
		{"ON sees only the tables joined so far", "SELECT c.id FROM customer c JOIN customeraddressbook ab ON ea.nkey = ab.addressbookaddress JOIN customeraddressbookentityaddress ea ON ea.nkey = ab.addressbookaddress",
			"Unknown identifier 'ea.nkey'. Available identifiers are: {" + qualifiedList(s, cq, "customer", "customeraddressbook") + "}"},
		{"ON within one table", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab ON ab.entity = ab.internalid",
			"ON ab.entity = ab.internalid: this fake SuiteQL server supports only equalities between a column of ab and a column of a table before it in FROM"},
		{"ON of different types", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab ON ab.label = c.id",
			"inconsistent datatypes: cannot compare integer column 'id' with text column 'label'"},
		{"an alias used twice", "SELECT c.id FROM customer c JOIN contact c ON c.company = c.id",
			"ORA-00918: 'c' names two tables of the FROM clause; give each a distinct alias"},
		{"a table twice without aliases", "SELECT id FROM customer JOIN customer ON id = id",
			"ORA-00918: 'customer' names two tables of the FROM clause; give each a distinct alias"},
		{"SELECT * with two columns of one name", "SELECT * FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id",
			"SELECT * over this join returns two columns named 'id' (c.id and csr.id); select the columns by name and alias one of them"},
		{"duplicate keys from qualified columns", "SELECT c.id, csr.id FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id",
			"duplicate column name 'id' in the select list; alias one of them"},
		{"ON with a literal", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab ON ab.entity = 1", "~ON conditions other than column = column"},
		{"ON with OR", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab ON ab.entity = c.id OR ab.entity = c.parent", "~ON conditions other than column = column"},
		{"ON with <", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab ON ab.entity < c.id", "~ON conditions other than column = column"},
		{"JOIN without ON", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab WHERE ab.entity = c.id", "~expected ON"},
		{"USING", "SELECT ab.entity FROM customer c JOIN customeraddressbook ab USING (entity)", "~USING is not supported"},
		{"RIGHT JOIN", "SELECT c.id FROM customeraddressbook ab RIGHT JOIN customer c ON ab.entity = c.id", "~RIGHT JOINs are not supported"},
		{"FULL OUTER JOIN", "SELECT c.id FROM customeraddressbook ab FULL OUTER JOIN customer c ON ab.entity = c.id", "~FULL JOINs are not supported"},
		{"CROSS JOIN", "SELECT c.id FROM customeraddressbook ab CROSS JOIN customer c", "~CROSS JOINs are not supported"},
		{"NATURAL JOIN", "SELECT c.id FROM customeraddressbook ab NATURAL JOIN customer c", "~NATURAL JOINs are not supported"},
		{"comma join", "SELECT c.id FROM customer c, customeraddressbook ab WHERE ab.entity = c.id", "~Oracle-style comma joins"},
		{"comma after a JOIN", "SELECT c.id FROM customer c JOIN customeraddressbook ab ON ab.entity = c.id, contact k", "~Oracle-style comma joins"},
		{"JOIN after WHERE", "SELECT c.id FROM customer c WHERE c.id = 1 JOIN customeraddressbook ab ON ab.entity = c.id", "~a JOIN must follow the FROM table"},
		{"unknown joined table", "SELECT c.id FROM customer c JOIN nosuch n ON n.id = c.id", "Record 'nosuch' was not found."},
		{"DUAL joined", "SELECT c.id FROM customer c JOIN dual d ON d.x = c.id", "DUAL cannot be joined in this fake SuiteQL server"},
		{"AS before a joined table's alias", "SELECT c.id FROM customer c JOIN contact AS k ON k.company = c.id", "~AS is not allowed"},
		{"types after names", "SELECT TO_CHAR(ab.label, 'YYYY') FROM " + abJoinEA, "~ORA-01722"},
		{"string against the right table's datetime", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ea.lastmodifieddate > '2025-01-01'", "~TO_DATE"},
		{"too many IN values", "SELECT ab.internalid FROM " + abJoinEA + " WHERE ab.entity IN (" + strings.Repeat("1, ", 1000) + "1)", "~1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := suiteQL(t, s, tok, tc.q, 1000, 0)
			if r.status != http.StatusBadRequest || r.err.code() != "INVALID_PARAMETER" {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			d := strings.TrimPrefix(r.err.detail(), searchPrefix)
			if d == r.err.detail() {
				t.Fatalf("detail %q lacks the search prefix", d)
			}
			if sub, ok := strings.CutPrefix(tc.detail, "~"); ok {
				if !strings.Contains(d, sub) {
					t.Errorf("detail %q does not contain %q", d, sub)
				}
			} else if d != tc.detail {
				t.Errorf("detail\n got %q\nwant %q", d, tc.detail)
			}
		})
	}
}

// TestJoinRejections: Options.Rejections and SetRejection, keyed by the real
// table, apply to a column of that table wherever a join mentions it.
func TestJoinRejections(t *testing.T) {
	ea := "customeraddressbookentityaddress"
	notExposed := "Field 'addrphone' for record 'customeraddressbookentityaddress' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"
	rej := map[string]map[string]Rejection{ea: {"addrphone": NotExposed, "attention": UnexpectedError, "override": UnknownIdentifier}}
	tests := []struct {
		name   string
		opts   Options
		q      string
		status int
		detail string // whole detail after the prefix for a 400; "" for the 500; "OK" for a 200
	}{
		{"qualified right-table column", Options{Rejections: rej}, "SELECT ab.internalid, ea.addrphone FROM " + abJoinEA, 400, notExposed},
		{"unqualified right-table column", Options{Rejections: rej}, "SELECT ab.internalid, addrphone FROM " + abJoinEA, 400, notExposed},
		{"in WHERE", Options{Rejections: rej}, "SELECT ab.internalid FROM " + abJoinEA + " WHERE ea.addrphone IS NULL", 400, notExposed},
		{"in ORDER BY", Options{Rejections: rej}, "SELECT ab.internalid FROM " + abJoinEA + " ORDER BY ea.addrphone", 400, notExposed},
		{"QualifiedNamesInErrors", Options{Rejections: rej, QualifiedNamesInErrors: true}, "SELECT ab.internalid, ea.addrphone FROM " + abJoinEA, 400,
			strings.Replace(notExposed, "'addrphone'", "'ea.addrphone'", 1)},
		{"unknown identifier lists the table's served columns", Options{Rejections: rej}, "SELECT ea.override FROM " + abJoinEA, 400,
			"Unknown identifier 'override'. Available identifiers are: {nkey, addressee, attention, addr1, addr2, addr3, addrtext, city, state, dropdownstate, zip, country, recordowner, lastmodifieddate}"},
		{"in ON", Options{Rejections: map[string]map[string]Rejection{ea: {"nkey": NotExposed}}}, "SELECT ab.internalid FROM " + abJoinEA, 400,
			"Field 'nkey' for record 'customeraddressbookentityaddress' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"UnexpectedError in WHERE", Options{Rejections: rej}, "SELECT ab.internalid FROM " + abJoinEA + " WHERE ea.attention IS NULL", 500, ""},
		{"UnexpectedError in ON", Options{Rejections: map[string]map[string]Rejection{"customeraddressbook": {"addressbookaddress": UnexpectedError}}},
			"SELECT ab.internalid FROM " + abJoinEA, 500, ""},
		{"a 400 comes before a 500", Options{Rejections: rej}, "SELECT ea.attention FROM " + abJoinEA + " WHERE ab.label = 5", 400,
			"inconsistent datatypes: column 'label' (text) is text; compare it with a string literal, not 5"},
		{"several: the first in the statement", Options{Rejections: rej}, "SELECT ea.override FROM " + abJoinEA + " WHERE ea.addrphone IS NULL", 400,
			"Unknown identifier 'override'. Available identifiers are: {nkey, addressee, attention, addr1, addr2, addr3, addrtext, city, state, dropdownstate, zip, country, recordowner, lastmodifieddate}"},
		{"several: NameLastRejected", Options{Rejections: rej, NameLastRejected: true}, "SELECT ea.override FROM " + abJoinEA + " WHERE ea.addrphone IS NULL", 400, notExposed},
		{"another table's column of that name is served", Options{Rejections: map[string]map[string]Rejection{"entityaddress": {"city": NotExposed}}},
			"SELECT ab.internalid, ea.city FROM " + abJoinEA, 200, "OK"},
		{"but not that table's", Options{Rejections: map[string]map[string]Rejection{"entityaddress": {"city": NotExposed}}},
			"SELECT ab.internalid, e.city FROM customeraddressbook ab JOIN entityaddress e ON e.nkey = ab.addressbookaddress", 400,
			"Field 'city' for record 'entityaddress' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"SELECT * breaks on an UnexpectedError column", Options{Rejections: rej}, "SELECT * FROM " + abJoinEA, 500, ""},
		{"a listed address field not served", Options{CustomFields: []CustomField{{ScriptID: "custrecord_geo", ValueType: "Free-Form Text", AddressField: true, NotServed: true}}},
			"SELECT ea.custrecord_geo FROM " + abJoinEA, 400,
			"Field 'custrecord_geo' for record 'customeraddressbookentityaddress' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := joinAccount(t, tc.opts)
			r := suiteQL(t, s, fetchToken(t, s), tc.q, 1000, 0)
			if tc.detail == "OK" {
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				return
			}
			assertRejected(t, r, tc.status, tc.detail)
		})
	}

	t.Run("SELECT * leaves refused columns out; SetRejection changes it", func(t *testing.T) {
		s, _ := joinAccount(t, Options{Rejections: map[string]map[string]Rejection{ea: {"addrphone": NotExposed, "zip": UnknownIdentifier}}})
		tok := fetchToken(t, s)
		p := mustQuery(t, s, tok, "SELECT * FROM "+abJoinEA+" WHERE ab.internalid = 1", 1000, 0)
		if _, ok := p.Items[0]["zip"]; ok || p.Items[0]["city"] != "Berlin" {
			t.Errorf("item %v", p.Items[0])
		}
		s.SetRejection(ea, "zip", NoRejection)
		s.SetRejection("customeraddressbook", "label", NotExposed)
		p = mustQuery(t, s, tok, "SELECT * FROM "+abJoinEA+" WHERE ab.internalid = 1", 1000, 0)
		if _, ok := p.Items[0]["label"]; ok || p.Items[0]["zip"] != "10117" {
			t.Errorf("item after SetRejection %v", p.Items[0])
		}
		r := suiteQL(t, s, tok, "SELECT ab.label FROM "+abJoinEA, 1000, 0)
		assertRejected(t, r, 400, "Field 'label' for record 'customeraddressbook' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL")
	})
}

// TestJoinPaging reads a generated address book page by page over the join:
// totalResults is the same on every page and the pages make up the book.
func TestJoinPaging(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"customer": 2500}, Seed: 8, CustomFields: StandardCustomFields()})
	tok := fetchToken(t, s)
	book := s.AddressBook("customer")
	if len(book) < 3000 {
		t.Fatalf("%d lines; want more than 3 pages", len(book))
	}
	q := "SELECT ab.entity, ab.internalid, ea.city, ea.custrecord_delivery_notes, TO_CHAR(ea.lastmodifieddate, " + ts + ") AS lastmodifieddate FROM customeraddressbook ab " +
		"LEFT JOIN customeraddressbookentityaddress ea ON ea.nkey = ab.addressbookaddress ORDER BY ab.entity, ab.internalid"
	var got []map[string]any
	for off := 0; ; off += 1000 {
		p := mustQuery(t, s, tok, q, 1000, off)
		if p.total() != len(book) {
			t.Fatalf("offset %d: totalResults %d, want %d", off, p.total(), len(book))
		}
		got = append(got, p.Items...)
		if !p.HasMore {
			break
		}
	}
	if len(got) != len(book) {
		t.Fatalf("%d rows, want %d", len(got), len(book))
	}
	for i, want := range book {
		g := got[i]
		lmd := want["lastmodifieddate"].(time.Time).In(s.zone.loc).Format("2006-01-02 15:04:05")
		if g["entity"] != fmt.Sprint(want["entity"]) || g["internalid"] != fmt.Sprint(want["internalid"]) || g["lastmodifieddate"] != lmd ||
			fmt.Sprint(g["city"]) != fmt.Sprint(orNil(want["city"])) || fmt.Sprint(g["custrecord_delivery_notes"]) != fmt.Sprint(orNil(want["custrecord_delivery_notes"])) {
			t.Fatalf("row %d: got %v, want %v", i, g, want)
		}
	}

	// A tied order comes back in a new order on each request, like a single table.
	tied := "SELECT ab.internalid FROM " + abJoinEA + " ORDER BY ea.country"
	a, b := mustQuery(t, s, tok, tied, 1000, 0), mustQuery(t, s, tok, tied, 1000, 0)
	if cells(a.Items, []string{"internalid"}) == cells(b.Items, []string{"internalid"}) {
		t.Error("two requests of a tied join order agree; ties must be broken randomly per request")
	}
}

// orNil renders a missing JSON key and a nil Row value alike.
func orNil(v any) any {
	if v == nil {
		return "<nil>"
	}
	return v
}

// TestJoinUniqueOrder: an ORDER BY over a join is unique only when it names
// the key columns of every joined table.
func TestJoinUniqueOrder(t *testing.T) {
	s, _ := joinAccount(t, Options{})
	for q, want := range map[string]bool{
		"SELECT ab.internalid FROM " + abJoinEA + " ORDER BY ab.entity, ab.internalid, ea.nkey":                              true,
		"SELECT ab.internalid FROM " + abJoinEA + " ORDER BY ab.entity, ab.internalid":                                       false,
		"SELECT ab.internalid AS i, ab.entity FROM " + abJoinEA + " ORDER BY 2, i, nkey":                                     true,
		"SELECT c.id FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id ORDER BY csr.id, c.id":     true,
		"SELECT c.id FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id ORDER BY csr.id":           false,
		"SELECT c.id FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id ORDER BY c.id, csr.entity": false,
	} {
		pq, err := parseSuiteQL(q)
		if err != nil {
			t.Fatal(err)
		}
		s.mu.RLock()
		srcs, err := s.sources(pq)
		if err != nil {
			t.Fatal(err)
		}
		p, err := compileJoin(pq, srcs, compileEnv{zone: s.zone, now: fixedNow})
		s.mu.RUnlock()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if p.unique != want {
			t.Errorf("%s: unique %v, want %v", q, p.unique, want)
		}
	}
}

// TestJoinResultCap: a join past 100,000 rows pages like a table: totalResults
// counts every row, hasMore turns false at the cap, a page past it is a 400.
func TestJoinResultCap(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"customer": 600}, Seed: 5})
	tok := fetchToken(t, s)
	want := 0
	members := s.Truth("customersubsidiaryrelationship")
	for _, c := range s.Truth("customer") {
		for _, m := range members {
			if m["isprimarysub"] == c["isperson"] {
				want++
			}
		}
	}
	if want <= maxResults {
		t.Fatalf("the join has %d rows; the test needs more than %d", want, maxResults)
	}
	q := "SELECT c.id, csr.id AS m FROM customer c JOIN customersubsidiaryrelationship csr ON csr.isprimarysub = c.isperson ORDER BY c.id, csr.id"
	first := mustQuery(t, s, tok, q, 1000, 0)
	last := mustQuery(t, s, tok, q, 1000, maxResults-1000)
	if first.total() != want || last.total() != want || !first.HasMore || last.HasMore || last.count() != 1000 {
		t.Errorf("first total %d hasMore %v; last total %d hasMore %v count %d; want total %d", first.total(), first.HasMore, last.total(), last.HasMore, last.count(), want)
	}
	if r := suiteQL(t, s, tok, q, 1000, maxResults); r.status != http.StatusBadRequest || !strings.Contains(r.err.detail(), "exceeds 100000 rows") {
		t.Errorf("past the cap: %d %s", r.status, r.raw)
	}
}

// BenchmarkJoin25k is one page of a keyset read over a 25,000-line address
// book joined with its addresses (the whole join is materialised per request).
func BenchmarkJoin25k(b *testing.B) {
	s := startServer(b, Options{Rows: map[string]int{"customer": 16_000}, Seed: 7, CustomFields: StandardCustomFields()})
	tok := fetchToken(b, s)
	n := len(s.Truth("customeraddressbook"))
	q := "SELECT ab.entity, ab.internalid, ab.label, ab.defaultbilling, ab.defaultshipping, ea.addr1, ea.addr2, ea.city, ea.zip, ea.country, ea.addrtext, " +
		"TO_CHAR(ea.lastmodifieddate, " + ts + ") AS lastmodifieddate FROM customeraddressbook ab LEFT JOIN customeraddressbookentityaddress ea ON ea.nkey = ab.addressbookaddress " +
		"WHERE (ab.entity > ? OR (ab.entity = ? AND ab.internalid > ?)) ORDER BY ab.entity, ab.internalid"
	b.ResetTimer()
	for b.Loop() {
		r := suiteQL(b, s, tok, q, 1000, 0, "0", "0", "0")
		if r.status != http.StatusOK || r.page.total() != n {
			b.Fatalf("status %d total %d, want %d", r.status, r.page.total(), n)
		}
	}
}
