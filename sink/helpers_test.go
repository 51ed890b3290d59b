package sink

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

var tsUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// testSchema has every supported type, nullable and required, in an order that is
// deliberately not alphabetical so a sorted group would be caught.
func testSchema() *arrow.Schema {
	meta := arrow.NewMetadata([]string{"extract.netsuite.kind"}, []string{"integer"})
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Metadata: meta},
		{Name: "zz_count", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "rate", Type: arrow.PrimitiveTypes.Float64},
		{Name: "isinactive", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "b_req", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "memo", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "code", Type: arrow.BinaryTypes.String},
		{Name: "lastmodifieddate", Type: tsUTC, Nullable: true},
		{Name: "created", Type: tsUTC},
		{Name: "duedate", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "startdate", Type: arrow.FixedWidthTypes.Date32},
	}, nil)
}

func micros(s string) arrow.Timestamp {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return arrow.Timestamp(t.UnixMicro())
}

func days(s string) arrow.Date32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return arrow.Date32FromTime(t)
}

// Special values cycled through the generated rows.
var (
	specialInts   = []int64{0, -1, 1, 42, math.MaxInt64, math.MinInt64, -9_007_199_254_740_993}
	specialFloats = []float64{0, math.Copysign(0, -1), 1.5, -2.25, 0.1, 1e-7, 1e21, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -1e300, 100}
	nonJSONFloats  = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	specialStrings = []string{"", "a", "é", "中文", "emoji 😀🇫🇷", "quote\" back\\slash\nnew\ttab\x01\x1f <>&'",
		"line\u2028sep\u2029", " leading and trailing ", strings.Repeat("long é 中 ", 2_000)}
	specialTimes = []arrow.Timestamp{
		micros("2024-11-03T08:00:00Z"), micros("2024-11-03T08:30:00Z"), micros("2024-11-03T09:00:00Z"),
		micros("2024-11-03T09:30:00Z"), micros("2024-11-03T10:00:00Z"), micros("2024-03-10T09:30:00Z"),
		micros("2024-03-10T06:59:59.999999Z"), micros("1970-01-01T00:00:00Z"), -1,
		micros("1969-07-20T20:17:40.5Z"), micros("1900-01-01T00:00:00.000001Z"), micros("0001-01-01T00:00:00Z"),
		micros("9999-12-31T23:59:59.999999Z"), micros("2000-02-29T12:00:00.12Z"),
	}
	specialDates = []arrow.Date32{days("1970-01-01"), days("2099-12-31"), days("1969-12-31"),
		days("1900-02-28"), days("2000-02-29"), days("0001-01-01"), days("9999-12-31"), days("2024-11-03")}
)

// row is the expected content of one row: nil for NULL, otherwise int64, float64, bool,
// string, arrow.Timestamp or arrow.Date32.
type row []any

// genRows builds n rows of testSchema. Nullable columns are NULL on a pattern that
// differs per column; jsonSafe leaves out NaN and infinities.
func genRows(n int, jsonSafe bool) []row {
	floats := specialFloats
	if !jsonSafe {
		floats = append(append([]float64(nil), specialFloats...), nonJSONFloats...)
	}
	rows := make([]row, n)
	for i := range n {
		null := func(col int) bool { return (i+col)%(3+col) == 0 }
		pick := func(col int, v any) any {
			if null(col) {
				return nil
			}
			return v
		}
		rows[i] = row{
			int64(i),
			pick(1, specialInts[i%len(specialInts)]),
			pick(2, floats[i%len(floats)]),
			floats[(i+3)%len(floats)],
			pick(4, i%2 == 0),
			i%3 == 0,
			pick(6, specialStrings[i%len(specialStrings)]),
			specialStrings[(i+1)%len(specialStrings)],
			pick(8, specialTimes[i%len(specialTimes)]),
			specialTimes[(i+5)%len(specialTimes)],
			pick(10, specialDates[i%len(specialDates)]),
			specialDates[(i+3)%len(specialDates)],
		}
	}
	return rows
}

// buildRecord turns rows into a record of schema.
func buildRecord(t testing.TB, schema *arrow.Schema, rows []row) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		for c, v := range r {
			fb := b.Field(c)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.TimestampBuilder:
				fb.Append(v.(arrow.Timestamp))
			case *array.Date32Builder:
				fb.Append(v.(arrow.Date32))
			case *array.ListBuilder:
				fb.Append(true)
				fb.ValueBuilder().(*array.Int64Builder).AppendValues(v.([]int64), nil)
			default:
				t.Fatalf("unexpected builder %T", fb)
			}
		}
	}
	return b.NewRecord()
}

// cellOf reads cell i of arr in the representation used by row.
func cellOf(t testing.TB, arr arrow.Array, i int) any {
	t.Helper()
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i)
	case *array.List:
		vals, ok := a.ListValues().(*array.Int64)
		if !ok {
			t.Fatalf("unexpected list values %T", a.ListValues())
		}
		lo, hi := a.ValueOffsets(i)
		got := []int64{} // present and empty stays distinct from NULL (nil)
		for j := lo; j < hi; j++ {
			if vals.IsNull(int(j)) {
				t.Fatalf("list row %d has a NULL element", i)
			}
			got = append(got, vals.Value(int(j)))
		}
		return got
	}
	t.Fatalf("unexpected array %T", arr)
	return nil
}

// sameCell compares floats bit for bit (so -0 and NaN are checked too) and lists
// element by element (nil, NULL, never equals a present empty list).
func sameCell(want, got any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && (math.Float64bits(w) == math.Float64bits(g) || math.IsNaN(w) && math.IsNaN(g))
	case []int64:
		g, ok := got.([]int64)
		return ok && w != nil && g != nil && slices.Equal(w, g)
	}
	if _, ok := got.([]int64); ok {
		return false // want is not a list (== would panic on a slice)
	}
	return want == got
}

func show(v any) string {
	if s, ok := v.(string); ok && len(s) > 60 {
		return fmt.Sprintf("%q…(%d bytes)", s[:60], len(s))
	}
	if l, ok := v.([]int64); ok && len(l) > 8 {
		return fmt.Sprintf("%#v…(%d elements)", l[:8], len(l))
	}
	return fmt.Sprintf("%#v", v)
}

// Multiple-select columns, as package schema declares them.
var (
	listOfInt64         = arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)
	listOfInt64NullElem = arrow.ListOf(arrow.PrimitiveTypes.Int64) // accepted; NULL elements are refused per write
)

// listFields are inserted into testSchema at these final positions (ascending) by
// listSchema: first, in the middle, adjacent to each other and last, so every way a
// list can sit among scalar leaves is exercised.
var listFields = []struct {
	at    int
	field arrow.Field
}{
	{0, arrow.Field{Name: "custentity_regions", Type: listOfInt64, Nullable: true}},
	{5, arrow.Field{Name: "custentity_tags", Type: listOfInt64, Nullable: true}},
	{6, arrow.Field{Name: "custentity_req", Type: listOfInt64}},
	{9, arrow.Field{Name: "custentity_elemnull", Type: listOfInt64NullElem, Nullable: true}},
	{16, arrow.Field{Name: "custentity_last", Type: listOfInt64, Nullable: true}},
}

// listSchema is testSchema with the list<int64> columns of listFields mixed in.
func listSchema() *arrow.Schema {
	fields := slices.Clone(testSchema().Fields())
	for _, lf := range listFields {
		fields = slices.Insert(fields, lf.at, lf.field)
	}
	return arrow.NewSchema(fields, nil)
}

// manyIDs is a long list (more elements than a row group has rows in most tests).
var manyIDs = func() []int64 {
	l := make([]int64, 300)
	for i := range l {
		l[i] = int64(i)*7919 - 3000
	}
	return l
}()

// specialLists are cycled through the list columns; nil is NULL, distinct from {}.
var specialLists = [][]int64{nil, {}, {1}, {0}, {-1, 42}, {math.MaxInt64, math.MinInt64, -9_007_199_254_740_993},
	{}, {123456789012}, nil, manyIDs, {5, 5, 5}, {-17}}

// genListRows builds n rows of listSchema: genRows' cells with a list in each list
// column, on a different cycle per column; the required list column gets [] for NULL.
func genListRows(n int, jsonSafe bool) []row {
	rows := genRows(n, jsonSafe)
	for i := range rows {
		for j, lf := range listFields {
			v := specialLists[(i*(j+1)+3*j)%len(specialLists)]
			var cell any = v
			switch {
			case v == nil && lf.field.Nullable:
				cell = nil
			case v == nil:
				cell = []int64{}
			}
			rows[i] = slices.Insert(rows[i], lf.at, cell)
		}
	}
	return rows
}

// The run every test sink writes, and the directory key of its files.
const (
	testRunID = "20261202T063202Z-1a2b3c4d"
	testDT    = "dt=2026-12-02"
)

// testRunStart is late in the evening in New York, already the next day in UTC: the dt=
// partition must use the UTC date.
var testRunStart = time.Date(2026, 12, 1, 22, 32, 2, 0, time.FixedZone("EST", -5*3600))

// runDirOf is the local directory of stream's files in the test run.
func runDirOf(s *Sink, stream string) string {
	return filepath.Join(s.opts.Dir, stream, testDT, "run="+testRunID)
}

// newTestSink returns a Sink writing into a fresh temp dir.
func newTestSink(t testing.TB, format Format, mod func(*Options)) *Sink {
	t.Helper()
	opts := Options{Dir: t.TempDir(), Format: format, RunID: testRunID, RunStart: testRunStart}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeBatches creates a file of stream, writes rows in batches of the given sizes (the
// last size repeats) and commits it. One batch is written as a sliced record so arrays
// with a non-zero offset are exercised.
func writeBatches(t testing.TB, s *Sink, stream string, schema *arrow.Schema, rows []row, sizes ...int) Receipt {
	t.Helper()
	f, err := s.Create(t.Context(), stream, schema)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := 0, 0; i < len(rows); k++ {
		n := sizes[min(k, len(sizes)-1)]
		j := min(i+n, len(rows))
		var rec arrow.Record
		if k == 1 && i >= 3 {
			// Build a larger record and slice it down to rows[i:j].
			whole := buildRecord(t, schema, rows[i-3:j])
			rec = whole.NewSlice(3, int64(j-i+3))
			whole.Release()
		} else {
			rec = buildRecord(t, schema, rows[i:j])
		}
		if err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		i = j
	}
	if got := f.Rows(); got != int64(len(rows)) {
		t.Fatalf("Rows() = %d, want %d", got, len(rows))
	}
	rc, err := f.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}
