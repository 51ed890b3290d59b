package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/extract-dev/extract/schema"
)

func TestCustomKind(t *testing.T) {
	cases := map[string]schema.Kind{
		"Check Box": schema.Bool, "CHECKBOX": schema.Bool, "Checkbox": schema.Bool,
		"Integer Number": schema.Integer, "Integer": schema.Integer,
		"Decimal Number": schema.Float, "Currency": schema.Float, "FLOAT": schema.Float,
		"Percent":   schema.Percent,
		"Date":      schema.Date,
		"Date/Time": schema.DateTime, "DATETIMETZ": schema.DateTime,
		"List/Record": schema.Integer, "SELECT": schema.Integer,
		"Multiple Select": schema.IntegerList, "MULTISELECT": schema.IntegerList,
		"Time Of Day": schema.Text, "Time of Day": schema.Text,
		"Free-Form Text": schema.Text, "Text Area": schema.Text, "Long Text": schema.Text, "Rich Text": schema.Text,
		"Email Address": schema.Text, "E-mail Address": schema.Text, "Hyperlink": schema.Text, "Phone Number": schema.Text,
		"Help": schema.Text, "Inline HTML": schema.Text, "Image": schema.Text, "Document": schema.Text,
	}
	for label, want := range cases {
		if got, ok := CustomKind(label); !ok || got != want {
			t.Errorf("CustomKind(%q) = %v, %v; want %v", label, got, ok, want)
		}
	}
	for _, unknown := range []string{"Geo Point", "", "Something New"} {
		if got, ok := CustomKind(unknown); ok || got != schema.Text {
			t.Errorf("CustomKind(%q) = %v, %v; want text and not known", unknown, got, ok)
		}
	}
}

var testCatalog = []CustomField{
	{ScriptID: "custbody_total", ValueType: "Currency", Stored: true},
	{ScriptID: "custentity_due", Label: "Due", ValueType: "Date", Stored: true},
	{ScriptID: "custentity_geo", Label: "Where", ValueType: "Geo Point", Stored: true},
	{ScriptID: "custentity_formula", ValueType: "Free-Form Text", Stored: false},
	{ScriptID: "custentity_pin", ValueType: "Password", Stored: true},
	{ScriptID: "custentity_region", Label: "Region", ValueType: "Free-Form Text", Stored: true},
	{ScriptID: "custentity_score", Label: "Score", ValueType: "Decimal Number", Stored: true},
	{ScriptID: "custentity_ssn", Label: "SSN", ValueType: "Free-Form Text", Stored: true},
	{ScriptID: "custentity_tags", Label: "Tags", ValueType: "Multiple Select", ValueTypeRecord: "customlist_tags", Stored: true},
	{ScriptID: "custevent_outcome", Label: "Outcome", ValueType: "List/Record", Stored: true},
}

func names(cols []schema.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

func TestPlanStream(t *testing.T) {
	standard, _ := Table(Customer)
	std := names(standard.Columns[:len(standard.Columns)-len(runColumns())])
	with := func(extra ...string) []string {
		return append(append(slices.Clone(std), extra...), names(runColumns())...)
	}
	cases := []struct {
		name        string
		in          PlanInput
		want        []string
		wantSkipped []string
		wantRefused []string
		wantNotes   int
	}{
		{"every custom field of the record", PlanInput{Stream: Customer, CustomFields: testCatalog},
			with("custentity_due", "custentity_geo", "custentity_region", "custentity_score", "custentity_ssn", "custentity_tags"),
			[]string{"custentity_formula", "custentity_pin"}, nil, 1},
		{"activities take custevent only", PlanInput{Stream: Task, CustomFields: testCatalog}, nil, []string{}, nil, 0},
		{"remembered refusals stay out", PlanInput{Stream: Customer, CustomFields: testCatalog,
			Dropped: map[string]string{"salesrep": "NOT_EXPOSED", "custentity_geo": "NOT_EXPOSED"}},
			slices.DeleteFunc(with("custentity_due", "custentity_region", "custentity_score", "custentity_ssn", "custentity_tags"), func(s string) bool { return s == "salesrep" }),
			[]string{"custentity_formula", "custentity_pin"}, []string{"salesrep", "custentity_geo"}, 0},
		{"custom_fields none", PlanInput{Stream: Customer, CustomFields: testCatalog, Selection: ColumnSelection{CustomFields: CustomFieldChoice{None: true}}},
			with(), []string{"custentity_due", "custentity_geo", "custentity_region", "custentity_score", "custentity_ssn", "custentity_tags", "custentity_formula", "custentity_pin"}, nil, 0},
		{"custom_fields list and exclude_columns", PlanInput{Stream: Customer, CustomFields: testCatalog, Selection: ColumnSelection{
			CustomFields: CustomFieldChoice{Only: []string{"custentity_s*", "custentity_region"}}, ExcludeColumns: []string{"custentity_ssn*", "email", "phone"}}},
			slices.DeleteFunc(with("custentity_region", "custentity_score"), func(s string) bool { return s == "email" || s == "phone" }),
			[]string{"email", "phone", "custentity_due", "custentity_geo", "custentity_ssn", "custentity_tags", "custentity_formula", "custentity_pin"}, nil, 0},
		{"columns: an include list keeps key and cursor", PlanInput{Stream: Customer, CustomFields: testCatalog, Selection: ColumnSelection{
			Columns: []string{"companyname", "custentity_tags"}}},
			[]string{"id", "companyname", "lastmodifieddate", "custentity_tags", DeletedColumn, ExtractedAtColumn, RunIDColumn}, nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanStream(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = with()
				if tc.in.Stream == Task {
					tb, _ := Table(Task)
					want = names(tb.Columns)
					want = slices.Insert(want, len(want)-len(runColumns()), "custevent_outcome")
				}
			}
			if got := names(plan.Table.Columns); !slices.Equal(got, want) {
				t.Fatalf("columns\n got %v\nwant %v", got, want)
			}
			var skipped, refused []string
			for _, s := range plan.Skipped {
				skipped = append(skipped, s.Name)
			}
			for _, s := range plan.Refused {
				refused = append(refused, s.Name)
			}
			if tc.wantSkipped != nil && !sameSet(skipped, tc.wantSkipped) {
				t.Errorf("skipped %v, want %v", skipped, tc.wantSkipped)
			}
			if !sameSet(refused, tc.wantRefused) {
				t.Errorf("refused %v, want %v", refused, tc.wantRefused)
			}
			if len(plan.Notes) != tc.wantNotes {
				t.Errorf("notes %q, want %d", plan.Notes, tc.wantNotes)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestPlanStreamTypesAndMetadata: each custom column carries its kind, NetSuite's label
// and value type, and the custom marker, down to the Arrow field metadata.
func TestPlanStreamTypesAndMetadata(t *testing.T) {
	plan, err := PlanStream(PlanInput{Stream: Contact, CustomFields: testCatalog})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]schema.Kind{"custentity_due": schema.Date, "custentity_geo": schema.Text, "custentity_score": schema.Float, "custentity_tags": schema.IntegerList}
	s := plan.Table.ArrowSchema()
	for name, kind := range want {
		c, ok := plan.Table.Column(name)
		if !ok || c.Kind != kind || !c.Custom {
			t.Fatalf("%s = %+v, want custom %v", name, c, kind)
		}
		f := s.Field(s.FieldIndices(name)[0])
		for key, v := range map[string]string{schema.MetaCustom: "true", schema.MetaKind: kind.String()} {
			if got, _ := f.Metadata.GetValue(key); got != v {
				t.Errorf("%s metadata %s = %q, want %q", name, key, got, v)
			}
		}
	}
	f := s.Field(s.FieldIndices("custentity_tags")[0])
	if lbl, _ := f.Metadata.GetValue(schema.MetaLabel); lbl != "Tags" {
		t.Errorf("label = %q", lbl)
	}
	if vt, _ := f.Metadata.GetValue(schema.MetaValueType); vt != "Multiple Select" {
		t.Errorf("value type = %q", vt)
	}
	if f.Type.String() != "list<item: int64, nullable>" && f.Type.ID().String() != "LIST" {
		t.Errorf("multiple select type = %s", f.Type)
	}
	if kinds := plan.Kinds; kinds["custentity_score"] != "float" || kinds["custentity_tags"] != "integer_list" {
		t.Errorf("kinds = %v", kinds)
	}
}

// TestPlanStreamTypeChange: a field whose type changed keeps its bare name for the type
// it was first written with; the new type goes to <scriptid>__<kind>, read from the
// same NetSuite field. Changing back returns to the bare name.
func TestPlanStreamTypeChange(t *testing.T) {
	kinds := map[string]string{"custentity_score": "integer"}
	plan, err := PlanStream(PlanInput{Stream: Customer, CustomFields: testCatalog, Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plan.Table.Column("custentity_score"); ok {
		t.Fatal("the bare name now holds another type")
	}
	c, ok := plan.Table.Column("custentity_score__float")
	if !ok || c.FieldID() != "custentity_score" || c.Kind != schema.Float {
		t.Fatalf("renamed column = %+v, %v", c, ok)
	}
	if plan.Kinds["custentity_score"] != "integer" || !strings.Contains(strings.Join(plan.Notes, "|"), "custentity_score__float") {
		t.Fatalf("kinds %v, notes %q", plan.Kinds, plan.Notes)
	}
	back := slices.Clone(testCatalog)
	for i := range back {
		if back[i].ScriptID == "custentity_score" {
			back[i].ValueType = "Integer Number"
		}
	}
	plan, _ = PlanStream(PlanInput{Stream: Customer, CustomFields: back, Kinds: kinds})
	if c, ok := plan.Table.Column("custentity_score"); !ok || c.Kind != schema.Integer {
		t.Fatalf("changed back: %+v, %v", c, ok)
	}
}

func TestColumnSelectionValidate(t *testing.T) {
	tb, _ := Table(Contact)
	bad := []struct {
		sel  ColumnSelection
		want string
	}{
		{ColumnSelection{ExcludeColumns: []string{"id"}}, `contact.exclude_columns: "id" excludes id`},
		{ColumnSelection{ExcludeColumns: []string{"lastmodified*"}}, "cursor"},
		{ColumnSelection{ExcludeColumns: []string{"*"}}, "key"},
		{ColumnSelection{Columns: []string{"[a-"}}, `contact.columns: "[a-" is not a valid pattern`},
		{ColumnSelection{CustomFields: CustomFieldChoice{Only: []string{"custentity_["}}}, "contact.custom_fields"},
		{ColumnSelection{Columns: []string{"Email"}}, "lowercase"},
	}
	for _, tc := range bad {
		err := tc.sel.Validate(tb, "contact")
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want a config error containing %q", tc.sel, err, tc.want)
		}
	}
	good := ColumnSelection{Columns: []string{"email", "cust*"}, ExcludeColumns: []string{"custentity_ssn*"}, CustomFields: CustomFieldChoice{Only: []string{"custentity_?egion"}}}
	if err := good.Validate(tb, "contact"); err != nil {
		t.Fatal(err)
	}
}

// catalogQuerier serves the customfield table in pages of 1000, optionally without some
// of its columns (they get NetSuite's Unknown identifier) and with upper-case scriptids.
type catalogQuerier struct {
	fields  int
	missing []string
	upper   bool
	offsets []int
}

func (q *catalogQuerier) SuiteQL(_ context.Context, query string, limit, offset int) (*Page, error) {
	for _, m := range q.missing {
		if strings.Contains(query, "customfield."+m) {
			return nil, (&APIError{Status: 400, Code: "INVALID_PARAMETER", Detail: searchPreamble + "Unknown identifier '" + m + "'. Available identifiers are: {scriptid, fieldvaluetype}"}).classify()
		}
	}
	q.offsets = append(q.offsets, offset)
	p := &Page{TotalResults: q.fields}
	for i := offset; i < min(offset+limit, q.fields); i++ {
		prefix := []string{"custentity", "custevent", "custbody", "custcol"}[i%4]
		id := fmt.Sprintf("%s_f%04d", prefix, i)
		if q.upper {
			id = strings.ToUpper(id)
		}
		row := schema.RawRow{"scriptid": id, "fieldvaluetype": "Integer Number", "name": "F", "isstored": "T"}
		if i%10 == 0 {
			row["isstored"] = "F"
		}
		p.Items = append(p.Items, row)
	}
	p.HasMore = offset+limit < q.fields
	return p, nil
}

func TestReadCustomFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    *catalogQuerier
		reqs int64
	}{
		{"three pages", &catalogQuerier{fields: 2500}, 3},
		{"upper-case ids, no fieldvaluetyperecord or isstored", &catalogQuerier{fields: 800, upper: true, missing: []string{"fieldvaluetyperecord", "isstored"}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields, dropped, reqs, err := ReadCustomFields(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if reqs != tc.reqs {
				t.Errorf("%d requests, want %d", reqs, tc.reqs)
			}
			if len(dropped) != len(tc.q.missing) {
				t.Errorf("dropped %v, want %v", dropped, tc.q.missing)
			}
			want := tc.q.fields / 2 // custentity and custevent only
			if len(fields) != want {
				t.Fatalf("%d fields, want %d", len(fields), want)
			}
			stored := 0
			for i, f := range fields {
				if f.ScriptID != strings.ToLower(f.ScriptID) || f.Streams() == nil {
					t.Fatalf("field %+v", f)
				}
				if i > 0 && fields[i-1].ScriptID >= f.ScriptID {
					t.Fatalf("not in scriptid order at %d", i)
				}
				if f.Stored {
					stored++
				}
			}
			if len(tc.q.missing) > 0 && stored != len(fields) {
				t.Errorf("without isstored every field counts as stored: %d of %d", stored, len(fields))
			}
			if len(tc.q.missing) == 0 && stored == len(fields) {
				t.Errorf("isstored = F was ignored")
			}
		})
	}
	q := &catalogQuerier{fields: 10, missing: []string{"scriptid"}}
	if _, _, _, err := ReadCustomFields(context.Background(), q); !errors.Is(err, ErrConfig) {
		t.Fatalf("without scriptid: %v, want a config error", err)
	}
}
