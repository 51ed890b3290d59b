package schema

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

var testTable = Table{
	Name:       "customer",
	PrimaryKey: "id",
	Cursor:     "lastmodifieddate",
	Columns: []Column{
		{Name: "id", Kind: Integer},
		{Name: "companyname", Kind: Text},
		{Name: "isinactive", Kind: Bool},
		{Name: "balance", Kind: Float},
		{Name: "firstorderdate", Kind: Date},
		{Name: "lastmodifieddate", Kind: DateTime},
		{Name: "custentity_score", Kind: Integer, Custom: true},
	},
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestTableValidate(t *testing.T) {
	if err := testTable.Validate(); err != nil {
		t.Fatalf("valid table rejected: %v", err)
	}
	bad := []struct {
		name string
		mod  func(*Table)
		want string
	}{
		{"upper-case column", func(t *Table) { t.Columns[1].Name = "CompanyName" }, "lowercase"},
		{"duplicate", func(t *Table) { t.Columns[1].Name = "id" }, "declared twice"},
		{"pk not integer", func(t *Table) { t.Columns[0].Kind = Text }, "primary key"},
		{"cursor missing", func(t *Table) { t.Cursor = "nope" }, "cursor"},
		{"no kind", func(t *Table) { t.Columns[2].Kind = 0 }, "no kind"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			tb := testTable
			tb.Columns = append([]Column(nil), testTable.Columns...)
			tc.mod(&tb)
			err := tb.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestArrowSchema(t *testing.T) {
	s := testTable.ArrowSchema()
	if got := len(s.Fields()); got != len(testTable.Columns) {
		t.Fatalf("fields = %d", got)
	}
	want := []struct {
		name     string
		typ      arrow.DataType
		nullable bool
	}{
		{"id", arrow.PrimitiveTypes.Int64, false},
		{"companyname", arrow.BinaryTypes.String, true},
		{"isinactive", arrow.FixedWidthTypes.Boolean, true},
		{"balance", arrow.PrimitiveTypes.Float64, true},
		{"firstorderdate", arrow.FixedWidthTypes.Date32, true},
		{"lastmodifieddate", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, true},
		{"custentity_score", arrow.PrimitiveTypes.Int64, true},
	}
	for i, w := range want {
		f := s.Field(i)
		if f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) || f.Nullable != w.nullable {
			t.Errorf("field %d = %s %s nullable=%v, want %s %s nullable=%v", i, f.Name, f.Type, f.Nullable, w.name, w.typ, w.nullable)
		}
	}
	md := s.Field(5).Metadata
	if v, _ := md.GetValue(MetaCursor); v != "true" {
		t.Errorf("cursor metadata = %q", v)
	}
	if v, _ := s.Field(6).Metadata.GetValue(MetaCustom); v != "true" {
		t.Errorf("custom metadata = %q", v)
	}
	if v, _ := s.Field(0).Metadata.GetValue(MetaPrimaryKey); v != "true" {
		t.Errorf("pk metadata = %q", v)
	}
}

func TestBuilderConvertsEveryKind(t *testing.T) {
	la := mustLoad(t, "America/Los_Angeles")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBuilder(mem, testTable, la)
	defer b.Release()
	rows := []RawRow{
		{"id": "1", "companyname": "Acme 中文 ✓", "isinactive": "F", "balance": ".5", "firstorderdate": "1970-01-01", "lastmodifieddate": "2024-03-10 01:59:59", "custentity_score": "0"},
		{"id": "2", "isinactive": "T", "balance": "-.25", "lastmodifieddate": "2024-03-10 03:00:00"},
		{"id": "3", "companyname": "", "balance": "0", "firstorderdate": "2099-12-31", "lastmodifieddate": "2024-11-03 00:59:59"},
		{"id": "-7", "balance": "1E+21"},
	}
	for _, r := range rows {
		if err := b.Append(r); err != nil {
			t.Fatalf("Append(%v): %v", r, err)
		}
	}
	if b.Len() != 4 {
		t.Fatalf("Len = %d", b.Len())
	}
	rec := b.NewRecord()
	defer rec.Release()

	ids := rec.Column(0).(*array.Int64)
	names := rec.Column(1).(*array.String)
	inactive := rec.Column(2).(*array.Boolean)
	bal := rec.Column(3).(*array.Float64)
	dates := rec.Column(4).(*array.Date32)
	lmd := rec.Column(5).(*array.Timestamp)
	score := rec.Column(6).(*array.Int64)

	if got := []int64{ids.Value(0), ids.Value(1), ids.Value(2), ids.Value(3)}; got[0] != 1 || got[3] != -7 {
		t.Errorf("ids = %v", got)
	}
	if names.Value(0) != "Acme 中文 ✓" || !names.IsNull(1) || names.IsNull(2) || names.Value(2) != "" {
		t.Errorf("names: %q null1=%v null2=%v", names.Value(0), names.IsNull(1), names.IsNull(2))
	}
	if inactive.Value(0) != false || inactive.IsNull(0) || inactive.Value(1) != true || !inactive.IsNull(2) {
		t.Errorf("booleans wrong")
	}
	if bal.Value(0) != 0.5 || bal.Value(1) != -0.25 || bal.Value(2) != 0 || bal.IsNull(2) || bal.Value(3) != 1e21 {
		t.Errorf("floats = %v %v %v %v", bal.Value(0), bal.Value(1), bal.Value(2), bal.Value(3))
	}
	if dates.Value(0) != 0 || dates.Value(2).ToTime().Format(DateLayout) != "2099-12-31" || !dates.IsNull(1) {
		t.Errorf("dates = %v %v", dates.Value(0), dates.Value(2))
	}
	// 01:59:59 PST is 09:59:59Z; after spring-forward 03:00 PDT is 10:00:00Z; 00:59:59 PDT on 3 Nov is 07:59:59Z.
	wantUTC := []string{"2024-03-10T09:59:59Z", "2024-03-10T10:00:00Z", "2024-11-03T07:59:59Z"}
	for i, w := range wantUTC {
		got := time.UnixMicro(int64(lmd.Value(i))).UTC().Format(time.RFC3339)
		if got != w {
			t.Errorf("lastmodifieddate[%d] = %s, want %s", i, got, w)
		}
	}
	if !lmd.IsNull(3) {
		t.Errorf("missing datetime should be null")
	}
	if score.IsNull(0) || score.Value(0) != 0 || !score.IsNull(1) {
		t.Errorf("zero integer must stay zero, missing must be null")
	}
}

func TestBuilderRejectsBadValues(t *testing.T) {
	cases := []struct {
		name   string
		row    RawRow
		column string
		id     string
	}{
		{"missing id", RawRow{"companyname": "x"}, "id", ""},
		{"non-numeric id", RawRow{"id": "abc"}, "id", "abc"},
		{"bool yes", RawRow{"id": "5", "isinactive": "Yes"}, "isinactive", "5"},
		{"float with comma", RawRow{"id": "5", "balance": "1,234.5"}, "balance", "5"},
		{"float NaN", RawRow{"id": "5", "balance": "NaN"}, "balance", "5"},
		{"float hex", RawRow{"id": "5", "balance": "0x1p-2"}, "balance", "5"},
		{"display date", RawRow{"id": "5", "firstorderdate": "1/15/2024"}, "firstorderdate", "5"},
		{"date out of range", RawRow{"id": "5", "firstorderdate": "2024-02-30"}, "firstorderdate", "5"},
		{"datetime date only", RawRow{"id": "5", "lastmodifieddate": "2024-01-15"}, "lastmodifieddate", "5"},
		{"datetime hour 24", RawRow{"id": "5", "lastmodifieddate": "2024-01-15 24:00:00"}, "lastmodifieddate", "5"},
		{"datetime ISO T", RawRow{"id": "5", "lastmodifieddate": "2024-01-15T10:00:00"}, "lastmodifieddate", "5"},
		{"text invalid utf8", RawRow{"id": "5", "companyname": "a\xffb"}, "companyname", "5"},
		{"integer overflow", RawRow{"id": "5", "custentity_score": "99999999999999999999"}, "custentity_score", "5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder(memory.NewGoAllocator(), testTable, time.UTC)
			defer b.Release()
			err := b.Append(tc.row)
			var ce *ConversionError
			if !errors.As(err, &ce) {
				t.Fatalf("Append = %v, want *ConversionError", err)
			}
			if !errors.Is(err, ErrBadValue) {
				t.Errorf("error does not wrap ErrBadValue")
			}
			if ce.Column != tc.column || ce.ID != tc.id || ce.Stream != "customer" {
				t.Errorf("error names stream=%q id=%q column=%q, want customer/%q/%q", ce.Stream, ce.ID, ce.Column, tc.id, tc.column)
			}
			msg := err.Error()
			if !strings.Contains(msg, "customer") || !strings.Contains(msg, tc.column) {
				t.Errorf("message %q does not name stream and column", msg)
			}
			if b.Len() != 0 {
				t.Errorf("a failed row was partly appended: Len = %d", b.Len())
			}
		})
	}
}

func TestErrorTruncatesLongValues(t *testing.T) {
	b := NewBuilder(memory.NewGoAllocator(), testTable, time.UTC)
	defer b.Release()
	err := b.Append(RawRow{"id": "5", "balance": strings.Repeat("9", 5000) + "x"})
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error should be short, got %d bytes", len(err.Error()))
	}
}

func TestParseNumberOracleText(t *testing.T) {
	cases := map[string]float64{".5": 0.5, "-.25": -0.25, "12": 12, "1E+21": 1e21, "-0": math.Copysign(0, -1), "3.14159": 3.14159}
	for in, want := range cases {
		got, ok := ParseNumber(in)
		if !ok || got != want {
			t.Errorf("ParseNumber(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "Inf", "-Infinity", "nan", "1_000", "0x10", "1,5", " 1"} {
		if _, ok := ParseNumber(in); ok {
			t.Errorf("ParseNumber(%q) accepted", in)
		}
	}
}

func FuzzBuilderAppend(f *testing.F) {
	f.Add("1", "Acme", "T", ".5", "2024-01-15", "2024-03-10 02:30:00", "7")
	f.Add("", "", "", "", "", "", "")
	f.Add("x", "\xff", "Yes", "1,0", "1/15/2024", "2024-13-01 00:00:00", "-")
	la := mustLoad(f, "America/Los_Angeles")
	f.Fuzz(func(t *testing.T, id, name, inactive, bal, date, lmd, score string) {
		b := NewBuilder(memory.NewGoAllocator(), testTable, la)
		defer b.Release()
		row := RawRow{"id": id, "companyname": name, "isinactive": inactive, "balance": bal, "firstorderdate": date, "lastmodifieddate": lmd, "custentity_score": score}
		err := b.Append(row)
		if err != nil {
			var ce *ConversionError
			if !errors.As(err, &ce) || ce.Column == "" {
				t.Fatalf("error without a column: %v", err)
			}
			if b.Len() != 0 {
				t.Fatalf("failed row appended")
			}
			return
		}
		rec := b.NewRecord()
		defer rec.Release()
		if rec.NumRows() != 1 {
			t.Fatalf("rows = %d", rec.NumRows())
		}
		// Whatever parsed must render back to the same text.
		if d := rec.Column(4).(*array.Date32); d.IsValid(0) && d.Value(0).ToTime().Format(DateLayout) != date {
			t.Fatalf("date %q round-trips as %s", date, d.Value(0).ToTime().Format(DateLayout))
		}
		if ts := rec.Column(5).(*array.Timestamp); ts.IsValid(0) {
			back := time.UnixMicro(int64(ts.Value(0))).In(la).Format(DateTimeLayout)
			// A wall time in the spring-forward gap does not exist; every other one must round-trip.
			if back != lmd && !inGap(lmd, la) {
				t.Fatalf("datetime %q round-trips as %q", lmd, back)
			}
		}
	})
}

// inGap reports whether wall time s does not exist in loc (the spring-forward hour).
func inGap(s string, loc *time.Location) bool {
	t, ok := ParseDateTime(s, loc)
	return ok && t.In(loc).Format(DateTimeLayout) != s
}

func BenchmarkBuilderAppend(b *testing.B) {
	la := mustLoad(b, "America/Los_Angeles")
	bl := NewBuilder(memory.NewGoAllocator(), testTable, la)
	defer bl.Release()
	row := RawRow{"id": "123456", "companyname": "Acme Widgets Ltd", "isinactive": "F", "balance": "1234.56", "firstorderdate": "2023-05-01", "lastmodifieddate": "2024-06-01 12:34:56", "custentity_score": "42"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := bl.Append(row); err != nil {
			b.Fatal(err)
		}
		if bl.Len() == 1000 {
			bl.NewRecord().Release()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestWallInstants(t *testing.T) {
	la := mustLoad(t, "America/Los_Angeles")
	cases := []struct {
		wall        string
		first, last string
	}{
		{"2024-07-01 12:00:00", "2024-07-01T19:00:00Z", "2024-07-01T19:00:00Z"},
		// Clocks go back at 02:00 PDT on 3 Nov 2024: 01:30 happens at 08:30Z and at 09:30Z.
		{"2024-11-03 01:30:00", "2024-11-03T08:30:00Z", "2024-11-03T09:30:00Z"},
		{"2024-11-03 01:00:00", "2024-11-03T08:00:00Z", "2024-11-03T09:00:00Z"},
		{"2024-11-03 00:59:59", "2024-11-03T07:59:59Z", "2024-11-03T07:59:59Z"},
		{"2024-11-03 02:00:00", "2024-11-03T10:00:00Z", "2024-11-03T10:00:00Z"},
	}
	for _, tc := range cases {
		first, last, ok := WallInstants(tc.wall, la)
		if !ok || first.UTC().Format(time.RFC3339) != tc.first || last.UTC().Format(time.RFC3339) != tc.last {
			t.Errorf("WallInstants(%s) = %s, %s, %v; want %s, %s", tc.wall, first.UTC(), last.UTC(), ok, tc.first, tc.last)
		}
	}
}

func TestAppendAtUsesCursorInstantForSameWallTime(t *testing.T) {
	la := mustLoad(t, "America/Los_Angeles")
	tb := Table{Name: "task", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []Column{
		{Name: "id", Kind: Integer}, {Name: "createddate", Kind: DateTime}, {Name: "starttime", Kind: DateTime}, {Name: "lastmodifieddate", Kind: DateTime},
	}}
	b := NewBuilder(memory.NewGoAllocator(), tb, la)
	defer b.Release()
	second := time.Date(2024, 11, 3, 9, 30, 0, 0, time.UTC) // 01:30 PST, the second occurrence
	err := b.AppendAt(RawRow{"id": "1", "createddate": "2024-11-03 01:30:00", "starttime": "2024-11-03 01:45:00", "lastmodifieddate": "2024-11-03 01:30:00"}, second)
	if err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecord()
	defer rec.Release()
	got := func(c int) string {
		return time.UnixMicro(int64(rec.Column(c).(*array.Timestamp).Value(0))).UTC().Format(time.RFC3339)
	}
	if got(3) != "2024-11-03T09:30:00Z" || got(1) != "2024-11-03T09:30:00Z" {
		t.Errorf("cursor %s, createddate %s: want both at the cursor's instant 09:30Z", got(3), got(1))
	}
	if got(2) != "2024-11-03T08:45:00Z" {
		t.Errorf("starttime %s: an unrelated ambiguous wall time reads as the earlier instant", got(2))
	}
}

// TestCustomKinds: a Percent reads "50" and "50%" alike; a Multiple Select reads the
// renderings NetSuite may use into list<int64>, reusing its buffer row after row; a
// value of neither shape fails naming the column.
func TestCustomKinds(t *testing.T) {
	tb := Table{Name: "task", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []Column{
		{Name: "id", Kind: Integer}, {Name: "lastmodifieddate", Kind: DateTime},
		{Name: "custevent_pct", Kind: Percent, Custom: true, Label: "Done", ValueType: "Percent"},
		{Name: "custevent_topics", Kind: IntegerList, Custom: true, ValueType: "Multiple Select"},
	}}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBuilder(mem, tb, time.UTC)
	defer b.Release()
	rows := []struct {
		pct, ids string
		wantPct  float64
		wantIDs  []int64
	}{
		{"50", "1, 2, 3", 50, []int64{1, 2, 3}},
		{"12.5%", "4,5", 12.5, []int64{4, 5}},
		{".5", "6\u00057", 0.5, []int64{6, 7}},
		{" 100 % ", "[8; 9]", 100, []int64{8, 9}},
		{"-.25", "-2", -0.25, []int64{-2}},
	}
	for i, r := range rows {
		if err := b.Append(RawRow{"id": fmt.Sprint(i), "custevent_pct": r.pct, "custevent_topics": r.ids}); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	if err := b.Append(RawRow{"id": "99"}); err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecord()
	defer rec.Release()
	pct := rec.Column(2).(*array.Float64)
	lists := rec.Column(3).(*array.List)
	vals := lists.ListValues().(*array.Int64)
	for i, r := range rows {
		if pct.Value(i) != r.wantPct {
			t.Errorf("row %d percent = %v, want %v", i, pct.Value(i), r.wantPct)
		}
		start, end := lists.ValueOffsets(i)
		var got []int64
		for j := start; j < end; j++ {
			got = append(got, vals.Value(int(j)))
		}
		if fmt.Sprint(got) != fmt.Sprint(r.wantIDs) {
			t.Errorf("row %d ids = %v, want %v", i, got, r.wantIDs)
		}
	}
	if !pct.IsNull(len(rows)) || !lists.IsNull(len(rows)) {
		t.Error("missing values must be NULL")
	}
	for _, bad := range []RawRow{{"id": "1", "custevent_pct": "half"}, {"id": "1", "custevent_topics": "Red, Blue"}, {"id": "1", "custevent_topics": ", ,"}} {
		var ce *ConversionError
		if err := b.Append(bad); !errors.As(err, &ce) || ce.ID != "1" || !strings.HasPrefix(ce.Column, "custevent_") {
			t.Errorf("Append(%v) = %v, want a conversion error naming id and column", bad, err)
		}
	}
	f := tb.ArrowSchema().Field(2)
	for key, want := range map[string]string{MetaKind: "percent", MetaCustom: "true", MetaLabel: "Done", MetaValueType: "Percent", MetaField: "custevent_pct"} {
		if got, _ := f.Metadata.GetValue(key); got != want {
			t.Errorf("metadata %s = %q, want %q", key, got, want)
		}
	}
}

// TestRenamedColumnKeepsItsField: a column renamed after a type change names the NetSuite
// field it is read from in its metadata.
func TestRenamedColumnKeepsItsField(t *testing.T) {
	c := Column{Name: "custentity_score__float", Field: "custentity_score", Kind: Float, Custom: true}
	tb := Table{Name: "customer", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []Column{{Name: "id", Kind: Integer}, {Name: "lastmodifieddate", Kind: DateTime}, c}}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, _ := tb.ArrowSchema().Field(2).Metadata.GetValue(MetaField); got != "custentity_score" || c.FieldID() != "custentity_score" {
		t.Fatalf("field = %q", got)
	}
	tb.Columns[2].Field = "CustEntity_Score"
	if tb.Validate() == nil {
		t.Fatal("an upper-case field id was accepted")
	}
}

// FuzzParseIDList: a Multiple Select value either parses into ids that render back to an
// equivalent value, or is refused; it never panics.
func FuzzParseIDList(f *testing.F) {
	for _, s := range []string{"1, 2, 3", "1,2", "4\u00055", "[7]", "", "a,b", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, ok := ParseIDList(s, nil)
		if !ok {
			return
		}
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprint(id))
		}
		again, ok2 := ParseIDList(strings.Join(parts, ","), nil)
		if !ok2 || fmt.Sprint(again) != fmt.Sprint(ids) {
			t.Fatalf("%q → %v → %v", s, ids, again)
		}
	})
}

// TestCompositeKeyAndExtractedAt: a child table is keyed by two columns (both required,
// both marked primary key) and has no cursor; a derived datetime is an RFC 3339 instant.
func TestCompositeKeyAndExtractedAt(t *testing.T) {
	tb := Table{Name: "customeraddressbook", PrimaryKey: "internalid", Keys: []string{"entity"}, Columns: []Column{
		{Name: "entity", Kind: Integer}, {Name: "internalid", Kind: Integer}, {Name: "city", Kind: Text},
		{Name: "_extracted_at", Kind: DateTime, Derived: true},
	}}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	s := tb.ArrowSchema()
	for _, i := range []int{0, 1} {
		if pk, _ := s.Field(i).Metadata.GetValue(MetaPrimaryKey); pk != "true" || s.Field(i).Nullable {
			t.Errorf("%s: primary key %q nullable %v", s.Field(i).Name, pk, s.Field(i).Nullable)
		}
	}
	b := NewBuilder(memory.NewGoAllocator(), tb, time.UTC)
	defer b.Release()
	var ce *ConversionError
	if err := b.Append(RawRow{"internalid": "5", "_extracted_at": "2024-01-01T00:00:00Z"}); !errors.As(err, &ce) || ce.Column != "entity" {
		t.Fatalf("a row without its parent key: %v", err)
	}
	if err := b.Append(RawRow{"entity": "1", "internalid": "5", "_extracted_at": "2024-01-01 00:00:00"}); !errors.As(err, &ce) || ce.Column != "_extracted_at" {
		t.Fatalf("a derived instant not in RFC 3339: %v", err)
	}
	if err := b.Append(RawRow{"entity": "1", "internalid": "5", "_extracted_at": "2024-03-10T10:11:12.345678Z"}); err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecord()
	defer rec.Release()
	if got := time.UnixMicro(int64(rec.Column(3).(*array.Timestamp).Value(0))).UTC(); !got.Equal(time.Date(2024, 3, 10, 10, 11, 12, 345678000, time.UTC)) {
		t.Fatalf("_extracted_at = %v", got)
	}
	tb.Keys = []string{"city"}
	if tb.Validate() == nil {
		t.Fatal("a text key was accepted")
	}
}
