package netsuitetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStandardCustomFields: every §10.1 value type for entity and CRM fields,
// an unknown label, a listed-but-unserved and a non-stored field per group,
// and fields of other prefixes that exist only in customfield.
func TestStandardCustomFields(t *testing.T) {
	fields := StandardCustomFields()
	want := []string{"Check Box", "Integer Number", "Decimal Number", "Currency", "Percent", "Date", "Date/Time",
		"Time Of Day", "List/Record", "Multiple Select", "Free-Form Text", "Text Area", "Long Text", "Rich Text",
		"Email Address", "Hyperlink", "Phone Number"}
	for _, prefix := range []string{"custentity", "custevent"} {
		served := map[string]bool{}
		var unknown, notServed, notStored int
		for _, f := range fields {
			if !strings.HasPrefix(f.ScriptID, prefix) {
				continue
			}
			if f.ScriptID != strings.ToLower(f.ScriptID) || f.Label == "" {
				t.Errorf("%s: script id not canonical or no label", f.ScriptID)
			}
			switch {
			case f.NotServed:
				notServed++
			case f.NotStored:
				notStored++
			case kindOf(f.ValueType) == fkOther:
				unknown++
			default:
				served[f.ValueType] = true
			}
			if kindOf(f.ValueType).refersToList() != (f.ValueTypeRecord != "") {
				t.Errorf("%s: fieldvaluetyperecord %q for %s", f.ScriptID, f.ValueTypeRecord, f.ValueType)
			}
		}
		for _, vt := range want {
			if !served[vt] {
				t.Errorf("%s: no served %s field", prefix, vt)
			}
		}
		if unknown != 1 || notServed != 1 || notStored != 1 {
			t.Errorf("%s: %d unknown labels, %d not served, %d not stored; want one each", prefix, unknown, notServed, notStored)
		}
	}
	others := map[string]bool{}
	for _, f := range fields {
		if tablesOf(f.ScriptID) == nil {
			others[f.ScriptID[:strings.IndexAny(f.ScriptID[4:], "_0123456789")+4]] = true
		}
	}
	for _, p := range []string{"custbody", "custcol", "custitem", "custrecord"} {
		if !others[p] {
			t.Errorf("no %s field", p)
		}
	}
	fields[0].Label = "changed"
	if StandardCustomFields()[0].Label == "changed" {
		t.Error("StandardCustomFields shares its slice")
	}
	for _, vt := range ValueTypes {
		if kindOf(vt) == fkOther || kindOf(strings.ToUpper(vt)) != kindOf(vt) {
			t.Errorf("ValueTypes: %q is not recognised", vt)
		}
	}
	if kindOf("Time of Day") != fkTimeOfDay || kindOf("date/time") != fkDateTime {
		t.Error("label variants are not recognised")
	}
}

func TestCustomFieldOptionsValidated(t *testing.T) {
	for name, o := range map[string]Options{
		"no cust prefix":       {CustomFields: []CustomField{{ScriptID: "entity_x", ValueType: "Check Box"}}},
		"bad character":        {CustomFields: []CustomField{{ScriptID: "custentity-x", ValueType: "Check Box"}}},
		"too long":             {CustomFields: []CustomField{{ScriptID: "custentity_" + strings.Repeat("x", 30), ValueType: "Check Box"}}},
		"no value type":        {CustomFields: []CustomField{{ScriptID: "custentity_x"}}},
		"twice":                {CustomFields: []CustomField{{ScriptID: "custentity_x", ValueType: "Check Box"}, {ScriptID: "CUSTENTITY_X", ValueType: "Date"}}},
		"bad percent":          {PercentRendering: "0.5"},
		"bad multi-select":     {MultiSelectRendering: "1;2"},
		"rows for customfield": {Rows: map[string]int{"customfield": 3}},
	} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	// Script ids are canonicalised to lower case.
	s := startServer(t, Options{CustomFields: []CustomField{{ScriptID: " CustEntity_Mixed ", ValueType: "Check Box"}}})
	if cols := s.Columns("contact"); cols[len(cols)-1] != (Column{Name: "custentity_mixed", Type: TypeBool, ValueType: "Check Box"}) {
		t.Errorf("last contact column %v", cols[len(cols)-1])
	}
}

// TestCustomFieldTable: the customfield table's columns and values, paging
// and ORDER BY over it, both scriptid casings and the switches.
func TestCustomFieldTable(t *testing.T) {
	fields := StandardCustomFields()
	var lower []string
	for _, f := range fields {
		lower = append(lower, f.ScriptID)
	}
	upper := make([]string, len(lower))
	for i, id := range lower {
		upper[i] = strings.ToUpper(id)
	}
	slices.Sort(lower)
	slices.Sort(upper)
	if slices.Equal(upper, func() []string {
		u := make([]string, len(lower))
		for i, id := range lower {
			u[i] = strings.ToUpper(id)
		}
		return u
	}()) {
		t.Fatal("the fixture set should sort differently in upper case")
	}

	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"lower case", Options{}, lower},
		{"UpperCaseScriptIDs", Options{UpperCaseScriptIDs: true}, upper},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.CustomFields = fields
			s := startServer(t, tc.opts)
			tok := fetchToken(t, s)
			var got []string
			for offset := 0; ; offset += 7 {
				p := mustQuery(t, s, tok, "SELECT customfield.scriptid, customfield.fieldvaluetype FROM customfield ORDER BY customfield.scriptid", 7, offset)
				if p.total() != len(fields) {
					t.Fatalf("totalResults %d, want %d", p.total(), len(fields))
				}
				for _, it := range p.Items {
					got = append(got, it["scriptid"].(string))
				}
				if !p.HasMore {
					break
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("paged scriptids\n got %v\nwant %v", got, tc.want)
			}
			desc := mustQuery(t, s, tok, "SELECT scriptid FROM customfield ORDER BY scriptid DESC", 1, 0)
			if desc.Items[0]["scriptid"] != tc.want[len(tc.want)-1] {
				t.Errorf("DESC first = %v", desc.Items[0]["scriptid"])
			}
		})
	}

	s := startServer(t, Options{CustomFields: fields})
	tok := fetchToken(t, s)
	wantCols := []Column{{Name: "scriptid", Type: TypeText}, {Name: "name", Type: TypeText}, {Name: "fieldtype", Type: TypeText},
		{Name: "fieldvaluetype", Type: TypeText}, {Name: "fieldvaluetyperecord", Type: TypeText}, {Name: "isstored", Type: TypeBool},
		{Name: "lastmodifieddate", Type: TypeDatetime}, {Name: "description", Type: TypeText}}
	if got := s.Columns("customfield"); !reflect.DeepEqual(got, wantCols) {
		t.Errorf("Columns(customfield) = %v", got)
	}
	lm := defaultFieldModified("custentity_region", fixedNow)
	it := item(t, s, tok, "SELECT scriptid, name, fieldtype, fieldvaluetype, fieldvaluetyperecord, isstored, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd, description FROM customfield WHERE scriptid = 'custentity_region'")
	want := map[string]any{"links": []any{}, "scriptid": "custentity_region", "name": "Région", "fieldtype": "ENTITY",
		"fieldvaluetype": "List/Record", "fieldvaluetyperecord": "customlist_region", "isstored": "T",
		"lmd": lm.In(s.zone.loc).Format(time.DateTime), "description": "Sales region, from the Region list.\nUsed by the territory rules."}
	if !reflect.DeepEqual(it, want) {
		t.Errorf("customfield row\n got %v\nwant %v", it, want)
	}
	for q, wantN := range map[string]int{
		"SELECT scriptid FROM customfield WHERE isstored = 'F'":                                         2,
		"SELECT scriptid FROM customfield WHERE fieldtype = 'CRM'":                                      20,
		"SELECT scriptid FROM customfield WHERE fieldtype IN ('BODY', 'COLUMN', 'ITEM', 'RECORD')":      6,
		"SELECT scriptid FROM customfield WHERE fieldvaluetyperecord IS NOT NULL":                       6,
		"SELECT scriptid FROM customfield WHERE fieldvaluetype = 'Percent'":                             2,
		"SELECT scriptid FROM customfield WHERE lastmodifieddate < TO_DATE('2025-01-21', 'YYYY-MM-DD')": len(fields),
	} {
		if p := mustQuery(t, s, tok, q, 1000, 0); p.total() != wantN {
			t.Errorf("%s: %d rows, want %d", q, p.total(), wantN)
		}
	}
	if p := mustQuery(t, s, tok, "SELECT * FROM customfield WHERE scriptid = 'custentity_total_score'", 1000, 0); p.Items[0]["isstored"] != "F" || p.Items[0]["fieldvaluetype"] != "Integer Number" {
		t.Errorf("SELECT * = %v", p.Items[0])
	}

	// The switches: fieldtype of CRM fields, no fieldvaluetyperecord.
	s = startServer(t, Options{CustomFields: fields, ActivityFieldType: "EVENT", NoFieldValueTypeRecord: true})
	tok = fetchToken(t, s)
	if it := item(t, s, tok, "SELECT fieldtype FROM customfield WHERE scriptid = 'custevent_cost'"); it["fieldtype"] != "EVENT" {
		t.Errorf("ActivityFieldType: %v", it)
	}
	assertRejected(t, suiteQL(t, s, tok, "SELECT scriptid, fieldvaluetyperecord FROM customfield", 1000, 0), 400,
		"Unknown identifier 'fieldvaluetyperecord'. Available identifiers are: {scriptid, name, fieldtype, fieldvaluetype, isstored, lastmodifieddate, description}")
	if p := mustQuery(t, s, tok, "SELECT * FROM customfield WHERE scriptid = 'custentity_region'", 1000, 0); len(p.Items[0]) != 8 || p.Items[0]["fieldvaluetyperecord"] != nil {
		t.Errorf("SELECT * without fieldvaluetyperecord: %v", p.Items[0])
	}
	// customfield is not a record table.
	if s.Delete("customfield", 1) {
		t.Error("Delete on customfield")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Upsert into customfield did not panic")
			}
		}()
		s.Upsert("customfield", Row{"scriptid": "custentity_x"})
	}()
}

// allTypes is one value of every custom value type of StandardCustomFields'
// entity fields, as Row values.
func allEntityValues() Row {
	return Row{
		"custentity_vip": true, "custentity_employee_count": int64(-42), "custentity_discount_rate": 0.5,
		"custentity_credit_balance": -0.25, "custentity_commission_pct": 62.5,
		"custentity_renewal_date":   time.Date(2024, 11, 3, 0, 0, 0, 0, time.UTC),
		"custentity_last_contacted": time.Date(2024, 11, 3, 9, 30, 0, 0, time.UTC), // 01:30 PST, the second pass
		"custentity_call_time":      "9:30 am", "custentity_region": int64(7), "custentity_product_lines": []int64{3, 1, 12},
		"custentity_nickname": "Zoë \"Z\" O'Brien", "custentity_notes": "Line 1\nLine 2", "custentity_history": strings.Repeat("é", 5000),
		"custentity_profile_html": "<p>Hi &amp; bye</p>", "custentity_billing_email": "a@exämple.com",
		"custentity_website": "https://example.com/?a=1&b=2", "custentity12": "+1 (555) 010-0000", "custentitylocation": "47.6,-122.3",
	}
}

// TestCustomValueRendering: the raw and TO_CHAR rendering of every value
// type, on an entity table and on each activity table.
func TestCustomValueRendering(t *testing.T) {
	s := startServer(t, Options{CustomFields: StandardCustomFields()})
	tok := fetchToken(t, s)
	row := allEntityValues()
	row["id"] = int64(5)
	s.Upsert("customer", row)
	s.Upsert("customer", Row{"id": int64(6), "custentity_vip": false, "custentity_employee_count": 0, "custentity_nickname": "",
		"custentity_product_lines": []int64{}, "custentity_commission_pct": 0.0})
	tests := []struct {
		col       string
		raw       any // nil: omitted
		raw6      any
		toChar    string // TO_CHAR(col, 'YYYY-MM-DD HH24:MI:SS'), "" = fails
		toCharErr string
	}{
		{"custentity_vip", "T", "F", "", "ORA-01722"},
		{"custentity_employee_count", "-42", "0", "", "ORA-01481"},
		{"custentity_discount_rate", ".5", nil, "", "ORA-01481"},
		{"custentity_credit_balance", "-.25", nil, "", "ORA-01481"},
		{"custentity_commission_pct", "62.5", "0", "", "ORA-01481"},
		{"custentity_renewal_date", "11/3/2024", nil, "2024-11-03 00:00:00", ""},
		{"custentity_last_contacted", "11/3/2024", nil, "2024-11-03 01:30:00", ""},
		{"custentity_call_time", "9:30 am", nil, "", "ORA-01722"},
		{"custentity_region", "7", nil, "", "ORA-01481"},
		{"custentity_product_lines", "3, 1, 12", nil, "", "ORA-01722"},
		{"custentity_nickname", "Zoë \"Z\" O'Brien", nil, "", "ORA-01722"},
		{"custentity_notes", "Line 1\nLine 2", nil, "", "ORA-01722"},
		{"custentity_history", strings.Repeat("é", 5000), nil, "", "ORA-01722"},
		{"custentity_profile_html", "<p>Hi &amp; bye</p>", nil, "", "ORA-01722"},
		{"custentity_billing_email", "a@exämple.com", nil, "", "ORA-01722"},
		{"custentity_website", "https://example.com/?a=1&b=2", nil, "", "ORA-01722"},
		{"custentity12", "+1 (555) 010-0000", nil, "", "ORA-01722"},
		{"custentitylocation", "47.6,-122.3", nil, "", "ORA-01722"},
	}
	for _, tc := range tests {
		t.Run(tc.col, func(t *testing.T) {
			p := mustQuery(t, s, tok, "SELECT id, "+tc.col+" FROM customer ORDER BY id", 1000, 0)
			if got := p.Items[0][tc.col]; got != tc.raw {
				t.Errorf("raw = %#v, want %#v", got, tc.raw)
			}
			if got := p.Items[1][tc.col]; got != tc.raw6 {
				t.Errorf("raw (second row) = %#v, want %#v", got, tc.raw6)
			}
			r := suiteQL(t, s, tok, "SELECT TO_CHAR("+tc.col+", 'YYYY-MM-DD HH24:MI:SS') AS v FROM customer WHERE id = 5", 1000, 0)
			if tc.toCharErr != "" {
				if r.status != 400 || !strings.HasPrefix(r.err.detail(), searchPrefix+tc.toCharErr) || !strings.Contains(r.err.detail(), "TO_CHAR") {
					t.Errorf("TO_CHAR: %d %s, want a 400 %s", r.status, r.err.detail(), tc.toCharErr)
				}
				return
			}
			if r.status != 200 || r.page.Items[0]["v"] != tc.toChar {
				t.Errorf("TO_CHAR: %s, want %s", r.raw, tc.toChar)
			}
			if d := item(t, s, tok, "SELECT TO_CHAR("+tc.col+", 'YYYY-MM-DD') AS v FROM customer WHERE id = 5"); d["v"] != tc.toChar[:10] {
				t.Errorf("TO_CHAR date = %v", d["v"])
			}
		})
	}

	// The same columns on contact; the CRM fields on every activity table,
	// in the SQL type of their value type.
	mustQuery(t, s, tok, "SELECT "+strings.Join(colNames(s, "customer")[26:], ", ")+" FROM contact", 1000, 0)
	for _, table := range []string{"calendarevent", "task", "phonecall"} {
		s.Upsert(table, Row{"id": int64(1), "custevent_billable": true, "custevent_cost": 1234.56, "custevent_completion_pct": 50.0,
			"custevent_followup_date": time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), "custevent_reminder_at": time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC),
			"custevent_preferred_time": "12:05 am", "custevent_outcome": 3, "custevent_topics": []int64{9}, "custevent_summary": "多行\n文本"})
		it := item(t, s, tok, "SELECT custevent_billable, custevent_cost, custevent_completion_pct, custevent_followup_date, custevent_reminder_at, "+
			"TO_CHAR(custevent_reminder_at, 'YYYY-MM-DD HH24:MI:SS') AS reminder, custevent_preferred_time, custevent_outcome, custevent_topics, custevent_summary FROM "+table+
			" WHERE custevent_billable = 'T' AND custevent_cost > 1000 AND custevent_completion_pct = 50 AND custevent_outcome IN (1, 3)"+
			" AND custevent_followup_date = TO_DATE('2024-03-10', 'YYYY-MM-DD') AND custevent_topics = '9' AND custevent_preferred_time = '12:05 am'"+
			" AND custevent_reminder_at >= TO_TIMESTAMP('2024-03-10 03:00:00', 'YYYY-MM-DD HH24:MI:SS')")
		want := map[string]any{"links": []any{}, "custevent_billable": "T", "custevent_cost": "1234.56", "custevent_completion_pct": "50",
			"custevent_followup_date": "3/10/2024", "custevent_reminder_at": "3/10/2024", "reminder": "2024-03-10 03:00:00",
			"custevent_preferred_time": "12:05 am", "custevent_outcome": "3", "custevent_topics": "9", "custevent_summary": "多行\n文本"}
		if !reflect.DeepEqual(it, want) {
			t.Errorf("%s\n got %v\nwant %v", table, it, want)
		}
	}

	// The SQL type follows the value type: numbers compare as numbers, text
	// as text, dates only with TO_DATE.
	for q, wantErr := range map[string]string{
		"SELECT id FROM customer WHERE custentity_employee_count = 'abc'":        "invalid number",
		"SELECT id FROM customer WHERE custentity_nickname = 5":                  "text",
		"SELECT id FROM customer WHERE custentity_renewal_date = '2024-11-03'":   "TO_DATE",
		"SELECT id FROM customer WHERE custentity_last_contacted > '1/1/2024'":   "TO_DATE",
		"SELECT id FROM customer WHERE custentity_product_lines = 3":             "text",
		"SELECT id FROM customer WHERE custentity_renewal_date = custentity_vip": "inconsistent datatypes",
	} {
		if r := suiteQL(t, s, tok, q, 1000, 0); r.status != 400 || !strings.Contains(r.err.detail(), wantErr) {
			t.Errorf("%s: %d %s, want 400 %q", q, r.status, r.err.detail(), wantErr)
		}
	}
	order := func(q string) []any {
		var ids []any
		for _, it := range mustQuery(t, s, tok, q, 1000, 0).Items {
			ids = append(ids, it["id"])
		}
		return ids
	}
	s.Upsert("customer", Row{"id": int64(7), "custentity_employee_count": int64(10), "custentity_discount_rate": 10.0})
	s.Upsert("customer", Row{"id": int64(8), "custentity_employee_count": int64(9)})
	if got := order("SELECT id FROM customer ORDER BY custentity_employee_count"); !reflect.DeepEqual(got, []any{"5", "6", "8", "7"}) {
		t.Errorf("numeric ORDER BY: %v", got) // -42 < 0 < 9 < 10; as text "10" would sort before "9"
	}
	if got := order("SELECT id FROM customer WHERE custentity_discount_rate > 1"); !reflect.DeepEqual(got, []any{"7"}) {
		t.Errorf("numeric WHERE: %v", got)
	}
}

// TestPercentRendering: each Percent rendering, raw and in WHERE; Row values
// stay the number shown in the UI.
func TestPercentRendering(t *testing.T) {
	values := []float64{50, 0, 12.5, 100, 0.5, -10, 7}
	tests := []struct {
		mode  string
		want  []string
		where string // a WHERE that matches 50 %
	}{
		{"", []string{"50", "0", "12.5", "100", ".5", "-10", "7"}, "custentity_commission_pct = 50"},
		{PercentNumber, []string{"50", "0", "12.5", "100", ".5", "-10", "7"}, "custentity_commission_pct = 50"},
		{PercentWithSign, []string{"50%", "0%", "12.5%", "100%", ".5%", "-10%", "7%"}, "custentity_commission_pct = 50"},
		{PercentFraction, []string{".5", "0", ".125", "1", ".005", "-.1", ".07"}, "custentity_commission_pct = .5"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			s := startServer(t, Options{CustomFields: StandardCustomFields(), PercentRendering: tc.mode})
			tok := fetchToken(t, s)
			for i, v := range values {
				s.Upsert("contact", Row{"id": int64(i + 1), "custentity_commission_pct": v})
			}
			p := mustQuery(t, s, tok, "SELECT id, custentity_commission_pct FROM contact ORDER BY custentity_commission_pct, id", 1000, 0)
			byID := map[string]any{}
			var order []any
			for _, it := range p.Items {
				byID[it["id"].(string)] = it["custentity_commission_pct"]
				order = append(order, it["id"])
			}
			for i := range values {
				if got := byID[fmt.Sprint(i+1)]; got != tc.want[i] {
					t.Errorf("%v %%: raw %#v, want %q", values[i], got, tc.want[i])
				}
			}
			if !reflect.DeepEqual(order, []any{"6", "2", "5", "7", "3", "1", "4"}) {
				t.Errorf("ORDER BY: %v", order)
			}
			if p := mustQuery(t, s, tok, "SELECT id FROM contact WHERE "+tc.where, 1000, 0); p.count() != 1 || p.Items[0]["id"] != "1" {
				t.Errorf("WHERE %s: %v", tc.where, p.Items)
			}
			if got := s.Truth("contact")[6]["custentity_commission_pct"]; got != 7.0 {
				t.Errorf("Truth = %v, want 7", got)
			}
		})
	}
}

// TestMultiSelectRendering: each rendering for 0, 1 and several ids.
func TestMultiSelectRendering(t *testing.T) {
	values := [][]int64{{}, {4}, {1, 2, 3}, nil, {10, 200}}
	tests := []struct {
		mode string
		want []any // raw per row; nil = omitted
	}{
		{"", []any{nil, "4", "1, 2, 3", nil, "10, 200"}},
		{MultiSelectCommaSpace, []any{nil, "4", "1, 2, 3", nil, "10, 200"}},
		{MultiSelectComma, []any{nil, "4", "1,2,3", nil, "10,200"}},
		{MultiSelectControlChar, []any{nil, "4", "1\u00052\u00053", nil, "10\u0005200"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.mode), func(t *testing.T) {
			s := startServer(t, Options{CustomFields: StandardCustomFields(), MultiSelectRendering: tc.mode})
			tok := fetchToken(t, s)
			for i, v := range values {
				r := Row{"id": int64(i + 1)}
				if v != nil {
					r["custevent_topics"] = v
				}
				s.Upsert("phonecall", r)
			}
			p := mustQuery(t, s, tok, "SELECT id, custevent_topics FROM phonecall ORDER BY id", 1000, 0)
			for i, it := range p.Items {
				if got := it["custevent_topics"]; got != tc.want[i] {
					t.Errorf("row %d: raw %#v, want %#v", i+1, got, tc.want[i])
				}
			}
			truth := s.Truth("phonecall")
			for i, v := range values {
				want := any(nil)
				if len(v) > 0 {
					want = v
				}
				if got := truth[i]["custevent_topics"]; !reflect.DeepEqual(got, want) {
					t.Errorf("Truth row %d = %#v, want %#v", i+1, got, want)
				}
			}
			// The value is text to SQL: it compares with its rendering.
			if p := mustQuery(t, s, tok, "SELECT id FROM phonecall WHERE custevent_topics = ?", 1000, 0, tc.want[2]); p.count() != 1 || p.Items[0]["id"] != "3" {
				t.Errorf("WHERE = rendering: %v", p.Items)
			}
		})
	}
}

// TestCustomTruthRoundTrip: Upsert and Truth agree on every value type, an
// update keeps custom columns it does not name, and Delete works.
func TestCustomTruthRoundTrip(t *testing.T) {
	s := startServer(t, Options{CustomFields: StandardCustomFields(), Rows: map[string]int{"customer": 3}})
	in := allEntityValues()
	in["id"] = int64(9100000)
	got := s.Upsert("customer", in)
	for k, v := range in {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: Upsert returned %#v, want %#v", k, got[k], v)
		}
	}
	truth := s.Truth("customer")
	last := truth[len(truth)-1]
	for k, v := range in {
		if !reflect.DeepEqual(last[k], v) {
			t.Errorf("%s: Truth %#v, want %#v", k, last[k], v)
		}
	}
	for _, k := range []string{"custentity_legacy_code", "custentity_total_score", "custevent_cost"} {
		if _, ok := last[k]; ok {
			t.Errorf("Truth has %s, which is no column of customer", k)
		}
	}
	// Other Go integer types and JSON-style values are accepted.
	got = s.Upsert("customer", Row{"id": 9100000, "custentity_product_lines": []int{5}, "custentity_region": 8, "custentity_nickname": ""})
	if !reflect.DeepEqual(got["custentity_product_lines"], []int64{5}) || got["custentity_region"] != int64(8) || got["custentity_nickname"] != nil ||
		got["custentity_notes"] != "Line 1\nLine 2" {
		t.Errorf("update = %v", got)
	}
	for name, r := range map[string]Row{
		"multi-select as text":   {"id": 1, "custentity_product_lines": "1, 2"},
		"multi-select of floats": {"id": 1, "custentity_product_lines": []float64{1.5}},
		"check box as string":    {"id": 1, "custentity_vip": "yes"},
		"unserved field":         {"id": 1, "custentity_legacy_code": "x"},
		"CRM field on customer":  {"id": 1, "custevent_cost": 1.0},
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
	if !s.Delete("customer", 9100000) || len(s.Truth("customer")) != 3 {
		t.Error("Delete with custom columns")
	}
}

// TestFixturesWithCustomColumns: fixture files may carry custom values, a
// multi-select as a JSON array.
func TestFixturesWithCustomColumns(t *testing.T) {
	s := startServer(t, Options{CustomFields: StandardCustomFields()})
	tbl := s.tables["contact"]
	if err := s.loadFixture(tbl, []byte(`[{"id": 9000500, "custentity_product_lines": [2, 3], "custentity_vip": true, "custentity_last_contacted": "2024-06-01T12:00:00Z"}]`)); err != nil {
		t.Fatal(err)
	}
	r := s.Truth("contact")[0]
	if !reflect.DeepEqual(r["custentity_product_lines"], []int64{2, 3}) || r["custentity_vip"] != true ||
		!r["custentity_last_contacted"].(time.Time).Equal(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("fixture row %v", r)
	}
}

// TestCustomFieldMutations: adding, removing and retyping a field, and
// changing rejections, as seen through SuiteQL.
func TestCustomFieldMutations(t *testing.T) {
	c := &clock{now: fixedNow}
	s := startServer(t, Options{CustomFields: StandardCustomFields(), Rows: map[string]int{"customer": 30, "task": 10}, Seed: 3, Now: c.Now})
	tok := fetchToken(t, s)
	before := s.Truth("customer")

	// Add: existing rows get NULL; customfield lists it stamped now.
	c.Advance(time.Minute)
	s.AddCustomField(CustomField{ScriptID: "custentity_tier", Label: "Tier", ValueType: "Integer Number", Description: "new"})
	if p := mustQuery(t, s, tok, "SELECT id, custentity_tier FROM customer WHERE custentity_tier IS NOT NULL", 1000, 0); p.total() != 0 {
		t.Errorf("new field has values: %v", p.Items)
	}
	if p := mustQuery(t, s, tok, "SELECT id, custentity_tier FROM contact", 1000, 0); p.total() != 0 {
		t.Errorf("contact: %v", p.Items)
	}
	it := item(t, s, tok, "SELECT fieldtype, fieldvaluetype, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM customfield WHERE scriptid = 'custentity_tier'")
	if it["fieldtype"] != "ENTITY" || it["lmd"] != c.Now().In(s.zone.loc).Format(time.DateTime) {
		t.Errorf("customfield row of the added field: %v", it)
	}
	s.Upsert("customer", Row{"id": before[0]["id"], "custentity_tier": 3})
	if it := item(t, s, tok, fmt.Sprintf("SELECT custentity_tier FROM customer WHERE id = %d", before[0]["id"])); it["custentity_tier"] != "3" {
		t.Errorf("upserted value: %v", it)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("adding a field twice did not panic")
			}
		}()
		s.AddCustomField(CustomField{ScriptID: "custentity_tier", ValueType: "Date"})
	}()

	// Type change: integer → text keeps "3"; lastmodifieddate of records stays.
	lmdBefore := mustQuery(t, s, tok, "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM customer ORDER BY id", 1000, 0).Items
	c.Advance(time.Minute)
	s.SetCustomFieldType("custentity_tier", "Free-Form Text")
	if p := mustQuery(t, s, tok, "SELECT id FROM customer WHERE custentity_tier = '3'", 1000, 0); p.total() != 1 {
		t.Errorf("integer → text: %v", p.Items)
	}
	if lmdAfter := mustQuery(t, s, tok, "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM customer ORDER BY id", 1000, 0).Items; !reflect.DeepEqual(lmdBefore, lmdAfter) {
		t.Error("a type change bumped records' lastmodifieddate")
	}
	it = item(t, s, tok, "SELECT fieldvaluetype, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM customfield WHERE scriptid = 'custentity_tier'")
	if it["fieldvaluetype"] != "Free-Form Text" || it["lmd"] != c.Now().In(s.zone.loc).Format(time.DateTime) {
		t.Errorf("customfield after the type change: %v", it)
	}
	if cols := s.Columns("contact"); cols[len(cols)-1] != (Column{Name: "custentity_tier", Type: TypeText, ValueType: "Free-Form Text"}) {
		t.Errorf("Columns after the type change: %v", cols[len(cols)-1])
	}

	// Conversions of every generated value, checked against the old truth.
	conversions := []struct {
		field, to string
		check     func(old, new any) bool
	}{
		{"custentity_employee_count", "Decimal Number", func(o, n any) bool { return o == nil && n == nil || n == float64(o.(int64)) }},
		{"custentity_discount_rate", "Integer Number", func(o, n any) bool {
			if o == nil || o.(float64) != float64(int64(o.(float64))) {
				return n == nil
			}
			return n == int64(o.(float64))
		}},
		{"custentity_region", "Multiple Select", func(o, n any) bool { return o == nil && n == nil || reflect.DeepEqual(n, []int64{o.(int64)}) }},
		{"custentity_product_lines", "List/Record", func(o, n any) bool {
			if o == nil || len(o.([]int64)) != 1 {
				return n == nil
			}
			return n == o.([]int64)[0]
		}},
		{"custentity_last_contacted", "Date", func(o, n any) bool {
			if o == nil {
				return n == nil
			}
			y, m, d := o.(time.Time).In(s.zone.loc).Date()
			return n == time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		}},
		{"custentity_vip", "Free-Form Text", func(o, n any) bool {
			return o == nil && n == nil || o == true && n == "T" || o == false && n == "F"
		}},
		{"custentity_nickname", "Integer Number", func(o, n any) bool { return n == nil }},
		{"custentity_commission_pct", "Free-Form Text", func(o, n any) bool { return o == nil && n == nil || n == oracleNumber(o.(float64)) }},
	}
	old := s.Truth("customer")
	for _, cv := range conversions {
		s.SetCustomFieldType(cv.field, cv.to)
	}
	now := s.Truth("customer")
	for _, cv := range conversions {
		nonNull := 0
		for i := range old {
			if !cv.check(old[i][cv.field], now[i][cv.field]) {
				t.Errorf("%s → %s: %#v became %#v", cv.field, cv.to, old[i][cv.field], now[i][cv.field])
			}
			if now[i][cv.field] != nil {
				nonNull++
			}
		}
		if nonNull == 0 && cv.field != "custentity_nickname" && cv.field != "custentity_product_lines" {
			t.Errorf("%s → %s: every value became NULL", cv.field, cv.to)
		}
	}
	if it := item(t, s, tok, "SELECT fieldvaluetyperecord FROM customfield WHERE scriptid = 'custentity_region'"); it["fieldvaluetyperecord"] != "customlist_region" {
		t.Errorf("List → Multiple Select lost fieldvaluetyperecord: %v", it)
	}
	if it := item(t, s, tok, "SELECT fieldvaluetyperecord FROM customfield WHERE scriptid = 'custentity_nickname'"); len(it) != 1 {
		t.Errorf("text field has fieldvaluetyperecord: %v", it)
	}

	// Remove: gone from customfield and from both tables.
	if !s.RemoveCustomField("custentity_tier") || s.RemoveCustomField("custentity_tier") {
		t.Error("RemoveCustomField reported wrongly")
	}
	for _, table := range []string{"customer", "contact"} {
		r := suiteQL(t, s, tok, "SELECT id, custentity_tier FROM "+table, 1000, 0)
		if r.status != 400 || !strings.HasPrefix(r.err.detail(), searchPrefix+"Unknown identifier 'custentity_tier'. Available identifiers are: {id, ") ||
			strings.Contains(r.err.detail(), "custentity_tier,") {
			t.Errorf("%s after removal: %s", table, r.raw)
		}
	}
	if p := mustQuery(t, s, tok, "SELECT scriptid FROM customfield WHERE scriptid = 'custentity_tier'", 1000, 0); p.total() != 0 {
		t.Error("removed field still in customfield")
	}
	if _, ok := s.Truth("customer")[0]["custentity_tier"]; ok {
		t.Error("removed field still in Truth")
	}
	// A removed field's rejection goes with it; re-adding starts clean.
	s.SetRejection("task", "custevent_cost", UnexpectedError)
	s.RemoveCustomField("custevent_cost")
	s.AddCustomField(CustomField{ScriptID: "custevent_cost", ValueType: "Currency"})
	if r := suiteQL(t, s, tok, "SELECT custevent_cost FROM task", 1000, 0); r.status != 200 {
		t.Errorf("re-added field: %s", r.raw)
	}
	// Removing a listed-only field (no column) works too.
	if !s.RemoveCustomField("custbody_po_date") || !s.RemoveCustomField("custentity_legacy_code") {
		t.Error("removing listed-only fields")
	}
	assertRejected(t, suiteQL(t, s, tok, "SELECT custentity_legacy_code FROM contact", 1000, 0), 400,
		"Unknown identifier 'custentity_legacy_code'. Available identifiers are: {"+strings.Join(colNames(s, "contact"), ", ")+"}")

	// SetRejection on a served column, then cleared.
	s.SetRejection("customer", "custentity_vip", NotExposed)
	assertRejected(t, suiteQL(t, s, tok, "SELECT custentity_vip FROM customer", 1000, 0), 400,
		"Field 'custentity_vip' for record 'customer' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL")
	if r := suiteQL(t, s, tok, "SELECT custentity_vip FROM contact", 1000, 0); r.status != 200 {
		t.Errorf("a rejection on customer affects contact: %s", r.raw)
	}
	s.SetRejection("customer", "custentity_vip", NoRejection)
	if r := suiteQL(t, s, tok, "SELECT custentity_vip FROM customer", 1000, 0); r.status != 200 {
		t.Errorf("cleared: %s", r.raw)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("SetCustomFieldType of an unknown field did not panic")
			}
		}()
		s.SetCustomFieldType("custentity_nosuch", "Date")
	}()
}

func colNames(s *Server, table string) []string {
	var out []string
	for _, c := range s.Columns(table) {
		out = append(out, c.Name)
	}
	return out
}

// TestGenerateCustomDeterministic: custom values are deterministic per Seed,
// leave the standard columns as they were, and have the awkward shapes.
func TestGenerateCustomDeterministic(t *testing.T) {
	rows := map[string]int{"customer": 400, "contact": 50, "calendarevent": 300, "task": 50, "phonecall": 50}
	fields := StandardCustomFields()
	a := startServer(t, Options{Rows: rows, Seed: 11, CustomFields: fields})
	b := startServer(t, Options{Rows: rows, Seed: 11, CustomFields: fields})
	c := startServer(t, Options{Rows: rows, Seed: 12, CustomFields: fields})
	plain := startServer(t, Options{Rows: rows, Seed: 11})
	// Fewer fields, in another order: the remaining columns keep their values.
	fewer := slices.Clone(fields[10:])
	slices.Reverse(fewer)
	d := startServer(t, Options{Rows: rows, Seed: 11, CustomFields: fewer})
	for table := range rows {
		ta, tb, tc, tp, td := a.Truth(table), b.Truth(table), c.Truth(table), plain.Truth(table), d.Truth(table)
		if !reflect.DeepEqual(ta, tb) {
			t.Errorf("%s: same seed, different data", table)
		}
		if reflect.DeepEqual(ta, tc) {
			t.Errorf("%s: different seeds, same data", table)
		}
		for i := range ta {
			for k, v := range tp[i] {
				if !reflect.DeepEqual(ta[i][k], v) {
					t.Fatalf("%s row %d: custom fields changed standard column %s", table, i, k)
				}
			}
			for k, v := range td[i] {
				if !reflect.DeepEqual(ta[i][k], v) {
					t.Fatalf("%s row %d: column %s depends on the other fields", table, i, k)
				}
			}
		}
	}

	// Every served custom column has values and NULLs; the shapes are there.
	nonNull, nulls := map[string]int{}, map[string]int{}
	var msSizes [6]int
	var zero, neg, frac, multiline, unicode int
	for _, table := range []string{"customer", "calendarevent"} {
		for _, r := range a.Truth(table) {
			for _, col := range a.Columns(table) {
				if col.ValueType == "" {
					continue
				}
				v := r[col.Name]
				if v == nil {
					nulls[table+"."+col.Name]++
					continue
				}
				nonNull[table+"."+col.Name]++
				switch x := v.(type) {
				case []int64:
					msSizes[min(len(x), 5)]++
				case int64:
					if x == 0 {
						zero++
					}
					if x < 0 {
						neg++
					}
				case float64:
					if x != float64(int64(x)) {
						frac++
					}
				case string:
					if strings.Contains(x, "\n") {
						multiline++
					}
					if strings.ContainsAny(x, "éëü王多🚀") {
						unicode++
					}
				}
			}
		}
		for _, col := range a.Columns(table) {
			if col.ValueType != "" && (nonNull[table+"."+col.Name] == 0 || nulls[table+"."+col.Name] == 0) {
				t.Errorf("%s.%s: %d values, %d NULLs", table, col.Name, nonNull[table+"."+col.Name], nulls[table+"."+col.Name])
			}
		}
	}
	if msSizes[1] == 0 || msSizes[2]+msSizes[3]+msSizes[4]+msSizes[5] == 0 || zero == 0 || neg == 0 || frac == 0 || multiline == 0 || unicode == 0 {
		t.Errorf("shapes: multi-select sizes %v, zero %d, negative %d, fractional %d, multi-line %d, unicode %d", msSizes, zero, neg, frac, multiline, unicode)
	}
}

// TestMutationsWhileServing runs queries while fields and rejections change
// (meaningful under -race).
func TestMutationsWhileServing(t *testing.T) {
	s := startServer(t, Options{CustomFields: StandardCustomFields(), Rows: map[string]int{"contact": 200}})
	tok := fetchToken(t, s)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := suiteQL(t, s, tok, "SELECT id, custentity_region, custentity_flag FROM contact ORDER BY custentity_region, id", 100, 0)
				if r.status != 200 && r.status != 400 && r.status != 500 {
					t.Errorf("status %d", r.status)
				}
				_ = s.Truth("contact")
				_ = s.Columns("contact")
			}
		}()
	}
	for i := range 30 {
		s.AddCustomField(CustomField{ScriptID: "custentity_flag", ValueType: "Check Box"})
		s.Upsert("contact", Row{"id": int64(1), "custentity_flag": true})
		s.SetRejection("contact", "custentity_region", []Rejection{NotExposed, UnexpectedError, NoRejection}[i%3])
		s.SetCustomFieldType("custentity_region", []string{"Free-Form Text", "List/Record"}[i%2])
		s.RemoveCustomField("custentity_flag")
		s.Delete("contact", int64(100+i))
	}
	close(stop)
	wg.Wait()
}
