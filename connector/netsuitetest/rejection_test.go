package netsuitetest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// contactServed is the contact table's served columns, as the Unknown
// identifier message lists them.
const contactServed = "id, entityid, firstname, lastname, email, phone, company, title, subsidiary, isinactive, datecreated, lastmodifieddate, supervisor, contactsource, externalid, defaultbillingaddress, defaultshippingaddress"

var unexpectedDetail = regexp.MustCompile(`^An unexpected SuiteScript error has occurred\. Error ID: [a-z0-9]{20}$`)

// TestRejectionTexts asserts the whole error of every kind of rejected
// column, for the default switches and for each switch.
func TestRejectionTexts(t *testing.T) {
	contactWithout := func(drop ...string) string {
		var keep []string
		for _, n := range strings.Split(contactServed, ", ") {
			if !strings.Contains(" "+strings.Join(drop, " ")+" ", " "+n+" ") {
				keep = append(keep, n)
			}
		}
		return strings.Join(keep, ", ")
	}
	quoted := "'" + strings.ReplaceAll(contactWithout("email"), ", ", "', '") + "'"
	rej := map[string]map[string]Rejection{"contact": {"email": UnknownIdentifier, "phone": NotExposed, "title": UnexpectedError}}
	tests := []struct {
		name   string
		opts   Options
		q      string
		status int
		detail string // the whole detail after searchPrefix (400), or "" for the 500 pattern
	}{
		{"name the table lacks", Options{}, "SELECT id, nosuch FROM contact", 400,
			"Unknown identifier 'nosuch'. Available identifiers are: {" + contactServed + "}"},
		{"not exposed", Options{Rejections: rej}, "SELECT id, phone FROM contact", 400,
			"Field 'phone' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"unknown identifier leaves the column and not-exposed ones out of the list", Options{Rejections: rej}, "SELECT id, email FROM contact", 400,
			"Unknown identifier 'email'. Available identifiers are: {" + contactWithout("email", "phone") + "}"},
		{"unexpected error", Options{Rejections: rej}, "SELECT id, title FROM contact", 500, ""},
		{"qualified name, default: unqualified", Options{Rejections: rej}, "SELECT contact.id, contact.phone FROM contact", 400,
			"Field 'phone' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"qualified name, QualifiedNamesInErrors", Options{Rejections: rej, QualifiedNamesInErrors: true}, "SELECT contact.id, contact.phone FROM contact", 400,
			"Field 'contact.phone' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"alias-qualified, QualifiedNamesInErrors", Options{QualifiedNamesInErrors: true}, "SELECT k.nosuch FROM contact k", 400,
			"Unknown identifier 'k.nosuch'. Available identifiers are: {" + contactServed + "}"},
		{"unknown qualified name, default", Options{}, "SELECT k.nosuch FROM contact k", 400,
			"Unknown identifier 'nosuch'. Available identifiers are: {" + contactServed + "}"},
		{"wrong qualifier is always named as written", Options{}, "SELECT contact.id FROM contact k", 400,
			"Unknown identifier 'contact.id'. Available identifiers are: {" + contactServed + "}"},
		{"QuoteAvailableIdentifiers", Options{Rejections: map[string]map[string]Rejection{"contact": {"email": UnknownIdentifier}}, QuoteAvailableIdentifiers: true},
			"SELECT email FROM contact", 400, "Unknown identifier 'email'. Available identifiers are: {" + quoted + "}"},
		{"several: the first by default", Options{Rejections: rej}, "SELECT id, nosuch FROM contact WHERE phone IS NULL ORDER BY email", 400,
			"Unknown identifier 'nosuch'. Available identifiers are: {" + contactWithout("email", "phone") + "}"},
		{"several: NameLastRejected", Options{Rejections: rej, NameLastRejected: true}, "SELECT id, nosuch FROM contact WHERE phone IS NULL ORDER BY email", 400,
			"Unknown identifier 'email'. Available identifiers are: {" + contactWithout("email", "phone") + "}"},
		{"several: NameLastRejected within WHERE", Options{Rejections: rej, NameLastRejected: true}, "SELECT id FROM contact WHERE email = 'x' OR phone = 'y'", 400,
			"Field 'phone' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"a 400 comes before a 500", Options{Rejections: rej}, "SELECT title, phone FROM contact", 400,
			"Field 'phone' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"names come before types", Options{Rejections: rej}, "SELECT TO_CHAR(firstname, 'YYYY') FROM contact WHERE phone = 5", 400,
			"Field 'phone' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"not served custom field", Options{CustomFields: StandardCustomFields()}, "SELECT id, custentity_legacy_code FROM contact", 400,
			"Field 'custentity_legacy_code' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"non-stored custom field", Options{CustomFields: StandardCustomFields()}, "SELECT id, custevent_sla_hours FROM phonecall", 400,
			"Field 'custevent_sla_hours' for record 'phonecall' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"non-stored, NonStoredRejection UnexpectedError", Options{CustomFields: StandardCustomFields(), NonStoredRejection: UnexpectedError},
			"SELECT id, custentity_total_score FROM customer", 500, ""},
		{"custom field of another record type", Options{CustomFields: StandardCustomFields()}, "SELECT custevent_cost FROM contact", 400,
			"Unknown identifier 'custevent_cost'. Available identifiers are: {" + contactServed + ", " + customColumnList("custentity") + "}"},
		{"explicit rejection of an unserved field wins", Options{CustomFields: StandardCustomFields(),
			Rejections: map[string]map[string]Rejection{"task": {"custevent_internal_ref": UnknownIdentifier}}},
			"SELECT custevent_internal_ref FROM task", 400, "Unknown identifier 'custevent_internal_ref'. Available identifiers are: {" + strings.Join(columnNames(t, "task"), ", ") + "}"},
		{"rejected custom column", Options{CustomFields: StandardCustomFields(),
			Rejections: map[string]map[string]Rejection{"contact": {"custentity_region": NotExposed}}},
			"SELECT custentity_region FROM contact", 400,
			"Field 'custentity_region' for record 'contact' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"},
		{"DUAL", Options{}, "SELECT nosuch FROM DUAL", 400, "Unknown identifier 'nosuch'. Available identifiers are: {}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.opts)
			r := suiteQL(t, s, fetchToken(t, s), tc.q, 1000, 0)
			assertRejected(t, r, tc.status, tc.detail)
		})
	}
}

// assertRejected checks the status, code and whole detail of an error.
func assertRejected(t *testing.T, r result, status int, detail string) {
	t.Helper()
	if r.status != status || r.err.Status != status {
		t.Fatalf("status %d (body %d), want %d: %s", r.status, r.err.Status, status, r.raw)
	}
	switch status {
	case http.StatusBadRequest:
		if r.err.code() != "INVALID_PARAMETER" || r.err.Title != "Bad Request" {
			t.Errorf("error shape %+v", r.err)
		}
		if want := searchPrefix + detail; r.err.detail() != want {
			t.Errorf("detail\n got %q\nwant %q", r.err.detail(), want)
		}
	case http.StatusInternalServerError:
		if r.err.code() != "UNEXPECTED_ERROR" || r.err.Title != "Internal Server Error" || !unexpectedDetail.MatchString(r.err.detail()) {
			t.Errorf("500 body %s", r.raw)
		}
	}
}

// customColumnList is the served custom columns of StandardCustomFields with
// a prefix, comma+space separated.
func customColumnList(prefix string) string {
	var names []string
	for _, f := range StandardCustomFields() {
		if strings.HasPrefix(f.ScriptID, prefix) && !f.NotServed && !f.NotStored {
			names = append(names, f.ScriptID)
		}
	}
	return strings.Join(names, ", ")
}

func columnNames(t *testing.T, table string) []string {
	s := startServer(t, Options{CustomFields: StandardCustomFields()})
	var out []string
	for _, c := range s.Columns(table) {
		out = append(out, c.Name)
	}
	return out
}

// TestRejectionWherever: a rejected column is rejected wherever the query
// mentions it, and only there.
func TestRejectionWherever(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"task": 20}, CustomFields: StandardCustomFields(),
		Rejections: map[string]map[string]Rejection{"task": {
			"completeddate": NotExposed, "priority": UnknownIdentifier, "percentcomplete": UnexpectedError,
			"custevent_reminder_at": NotExposed, "custevent_cost": UnexpectedError,
		}}})
	tok := fetchToken(t, s)
	notExposed := func(col string) string {
		return "Field '" + col + "' for record 'task' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"
	}
	var served []string
	for _, c := range s.Columns("task") {
		if c.Name != "completeddate" && c.Name != "priority" && c.Name != "custevent_reminder_at" {
			served = append(served, c.Name)
		}
	}
	unknownPriority := "Unknown identifier 'priority'. Available identifiers are: {" + strings.Join(served, ", ") + "}"
	tests := []struct {
		name   string
		q      string
		limit  int
		status int
		detail string
	}{
		{"select list", "SELECT id, completeddate FROM task", 1000, 400, notExposed("completeddate")},
		{"inside TO_CHAR", "SELECT id, TO_CHAR(completeddate, 'YYYY-MM-DD') AS d FROM task", 1000, 400, notExposed("completeddate")},
		{"custom inside TO_CHAR", "SELECT TO_CHAR(custevent_reminder_at, 'YYYY-MM-DD HH24:MI:SS') FROM task", 1000, 400, notExposed("custevent_reminder_at")},
		{"WHERE", "SELECT id FROM task WHERE completeddate IS NOT NULL", 1000, 400, notExposed("completeddate")},
		{"WHERE comparison", "SELECT id FROM task WHERE completeddate > TO_DATE('2024-01-01', 'YYYY-MM-DD')", 1000, 400, notExposed("completeddate")},
		{"WHERE column on the right", "SELECT id FROM task WHERE startdate <= completeddate", 1000, 400, notExposed("completeddate")},
		{"WHERE IN", "SELECT id FROM task WHERE priority IN ('HIGH', 'LOW')", 1000, 400, unknownPriority},
		{"WHERE BETWEEN", "SELECT id FROM task WHERE id BETWEEN 1 AND 5 AND NOT priority BETWEEN 'A' AND 'Z'", 1000, 400, unknownPriority},
		{"ORDER BY", "SELECT id FROM task ORDER BY priority, id", 1000, 400, unknownPriority},
		{"ORDER BY TO_CHAR", "SELECT id FROM task ORDER BY TO_CHAR(completeddate, 'YYYY'), id", 1000, 400, notExposed("completeddate")},
		{"ORDER BY qualified", "SELECT t.id FROM task t ORDER BY t.priority", 1000, 400, unknownPriority},
		{"500 in select list", "SELECT id, percentcomplete FROM task", 1000, 500, ""},
		{"500 only in WHERE", "SELECT id FROM task WHERE percentcomplete > 10", 1000, 500, ""},
		{"500 only in ORDER BY", "SELECT id FROM task ORDER BY custevent_cost", 1000, 500, ""},
		{"500 with limit=1 over an empty window", "SELECT id, custevent_cost FROM task WHERE id < 0", 1, 500, ""},
		{"500 from SELECT *", "SELECT * FROM task WHERE id < 0", 1, 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, suiteQL(t, s, tok, tc.q, tc.limit, 0), tc.status, tc.detail)
		})
	}

	// An ORDER BY name that is a select alias refers to the item, not the column.
	p := mustQuery(t, s, tok, "SELECT id, TO_CHAR(startdate, 'YYYY-MM-DD') AS completeddate FROM task ORDER BY completeddate, id", 1000, 0)
	if p.count() != 20 {
		t.Errorf("alias ORDER BY: %d rows", p.count())
	}
	// Unrejected columns of the same table are served.
	if p := mustQuery(t, s, tok, "SELECT id, title, custevent_topics FROM task ORDER BY id", 5, 0); p.count() != 5 {
		t.Errorf("served columns: %d rows", p.count())
	}

	// SELECT * leaves the 400-rejected columns out once nothing breaks it.
	s.SetRejection("task", "percentcomplete", NoRejection)
	s.SetRejection("task", "custevent_cost", NoRejection)
	p = mustQuery(t, s, tok, "SELECT * FROM task WHERE id = 1", 1000, 0)
	for _, k := range []string{"completeddate", "priority", "custevent_reminder_at"} {
		if _, ok := p.Items[0][k]; ok {
			t.Errorf("SELECT * returned the rejected column %s", k)
		}
	}
	if _, ok := p.Items[0]["status"]; !ok {
		t.Errorf("SELECT * lacks status: %v", p.Items[0])
	}
	if r := suiteQL(t, s, tok, "SELECT id, percentcomplete FROM task", 1000, 0); r.status != 200 {
		t.Errorf("cleared rejection still rejects: %s", r.raw)
	}
}

func TestRejectionOptionsValidated(t *testing.T) {
	for name, o := range map[string]Options{
		"unknown table":          {Rejections: map[string]map[string]Rejection{"vendor": {"id": NotExposed}}},
		"unknown column":         {Rejections: map[string]map[string]Rejection{"customer": {"nosuch": NotExposed}}},
		"upper-case column":      {Rejections: map[string]map[string]Rejection{"customer": {"EMAIL": NotExposed}}},
		"custom field elsewhere": {CustomFields: StandardCustomFields(), Rejections: map[string]map[string]Rejection{"task": {"custentity_vip": NotExposed}}},
		"unknown rejection":      {Rejections: map[string]map[string]Rejection{"customer": {"email": "MAYBE"}}},
		"unknown non-stored":     {NonStoredRejection: "MAYBE"},
	} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	s := startServer(t, Options{CustomFields: StandardCustomFields()})
	for name, f := range map[string]func(){
		"unknown table":  func() { s.SetRejection("vendor", "id", NotExposed) },
		"unknown column": func() { s.SetRejection("customer", "nosuch", NotExposed) },
		"bad rejection":  func() { s.SetRejection("customer", "email", "MAYBE") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
	// A listed-but-unserved field and customfield's own columns may be rejected.
	s.SetRejection("customer", "custentity_legacy_code", UnknownIdentifier)
	s.SetRejection("customfield", "description", NotExposed)
}
