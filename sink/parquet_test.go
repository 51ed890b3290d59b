package sink

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// readParquet reads a file back with Arrow's own Parquet reader, an implementation
// independent of the parquet-go writer under test.
func readParquet(t *testing.T, path string) (*file.Reader, arrow.Table) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s with arrow: %v", path, err)
	}
	t.Cleanup(func() { pf.Close() })
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 10}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s with arrow: %v", path, err)
	}
	t.Cleanup(tbl.Release)
	return pf, tbl
}

// compareTable checks the read-back schema (order, names, types, nullability) and every
// cell against the rows that were written.
func compareTable(t *testing.T, schema *arrow.Schema, tbl arrow.Table, want []row) {
	t.Helper()
	schema = parquetReadSchema(schema)
	got := tbl.Schema()
	if got.NumFields() != schema.NumFields() {
		t.Fatalf("read back %d fields, want %d:\n%s", got.NumFields(), schema.NumFields(), got)
	}
	for i, wf := range schema.Fields() {
		gf := got.Field(i)
		if gf.Name != wf.Name || gf.Nullable != wf.Nullable || !arrow.TypeEqual(gf.Type, wf.Type) {
			t.Errorf("field %d = %s %s nullable=%v, want %s %s nullable=%v",
				i, gf.Name, gf.Type, gf.Nullable, wf.Name, wf.Type, wf.Nullable)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if tbl.NumRows() != int64(len(want)) {
		t.Fatalf("read back %d rows, want %d", tbl.NumRows(), len(want))
	}
	bad := 0
	for c := range int(tbl.NumCols()) {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := range chunk.Len() {
				if g, w := cellOf(t, chunk, i), want[r][c]; !sameCell(w, g) {
					t.Errorf("row %d column %s = %s, want %s", r, schema.Field(c).Name, show(g), show(w))
					if bad++; bad > 20 {
						t.FailNow()
					}
				}
				r++
			}
		}
	}
}

// parquetReadSchema is the Arrow schema pqarrow v17 reads back for a file written with
// schema: the same, except that list elements come back nullable whatever the file
// says. The file's element is required (TestParquetListPhysicalSchema checks that);
// pqarrow v17 just marks every list element nullable (fixed upstream in
// apache/arrow-go#311), so the element's nullability is not compared here.
func parquetReadSchema(schema *arrow.Schema) *arrow.Schema {
	fields := slices.Clone(schema.Fields())
	for i, f := range fields {
		if lt, ok := f.Type.(*arrow.ListType); ok {
			fields[i].Type = arrow.ListOf(lt.Elem())
		}
	}
	return arrow.NewSchema(fields, nil)
}

// Schemas for the round-trip tests: without a list column (the fixed-width row path)
// and with list<int64> columns among the same scalar columns (the variable-width one).
var roundTripSchemas = []struct {
	name   string
	schema func() *arrow.Schema
	rows   func(n int, jsonSafe bool) []row
}{
	{"scalars", testSchema, genRows},
	{"lists", listSchema, genListRows},
}

func TestParquetRoundTrip(t *testing.T) {
	tests := []struct {
		name         string
		rows         int
		rowGroupRows int
		batches      []int
		wantGroups   int
	}{
		{"one row", 1, 0, []int{1000}, 1},
		{"one batch one group", 500, 0, []int{1000}, 1},
		{"several row groups", 1050, 100, []int{1, 300, 349, 400}, 11},
		{"group boundary equals batch", 600, 200, []int{200}, 3},
		{"tiny row groups", 50, 7, []int{13, 1, 20}, 8},
		{"zero rows", 0, 0, []int{1}, 0},
	}
	for _, sc := range roundTripSchemas {
		schema := sc.schema()
		for _, tt := range tests {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				s := newTestSink(t, Parquet, func(o *Options) { o.RowGroupRows = tt.rowGroupRows })
				rows := sc.rows(tt.rows, false)
				rc := writeBatches(t, s, "customer", schema, rows, tt.batches...)
				if rc.Rows != int64(tt.rows) || rc.Stream != "customer" {
					t.Errorf("receipt = %+v", rc)
				}
				pf, tbl := readParquet(t, rc.Path)
				compareTable(t, schema, tbl, rows)
				if got := pf.NumRowGroups(); got != tt.wantGroups {
					t.Errorf("row groups = %d, want %d", got, tt.wantGroups)
				}
				for g := range pf.NumRowGroups() {
					rg := pf.MetaData().RowGroup(g)
					if lim := int64(tt.rowGroupRows); lim > 0 && rg.NumRows() > lim {
						t.Errorf("row group %d has %d rows, limit %d", g, rg.NumRows(), lim)
					}
					for c := range rg.NumColumns() {
						cc, err := rg.ColumnChunk(c)
						if err != nil {
							t.Fatal(err)
						}
						if cc.Compression() != compress.Codecs.Zstd {
							t.Errorf("row group %d column %d compression = %v, want zstd", g, c, cc.Compression())
						}
					}
				}
			})
		}
	}
}

// TestParquetPhysicalSchema checks the Parquet-level types, which the Arrow schema
// comparison alone would not show (e.g. required vs optional, UTC adjustment).
func TestParquetPhysicalSchema(t *testing.T) {
	s := newTestSink(t, Parquet, nil)
	rc := writeBatches(t, s, "task", testSchema(), genRows(10, false), 10)
	pf, _ := readParquet(t, rc.Path)
	want := []struct {
		name     string
		physical parquet.Type
		logical  string
		optional bool
	}{
		{"id", parquet.Types.Int64, "Int(bitWidth=64, isSigned=true)", false},
		{"zz_count", parquet.Types.Int64, "Int(bitWidth=64, isSigned=true)", true},
		{"amount", parquet.Types.Double, "None", true},
		{"rate", parquet.Types.Double, "None", false},
		{"isinactive", parquet.Types.Boolean, "None", true},
		{"b_req", parquet.Types.Boolean, "None", false},
		{"memo", parquet.Types.ByteArray, "String", true},
		{"code", parquet.Types.ByteArray, "String", false},
		{"lastmodifieddate", parquet.Types.Int64, "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)", true},
		{"created", parquet.Types.Int64, "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)", false},
		{"duedate", parquet.Types.Int32, "Date", true},
		{"startdate", parquet.Types.Int32, "Date", false},
	}
	sc := pf.MetaData().Schema
	if sc.NumColumns() != len(want) {
		t.Fatalf("%d columns, want %d", sc.NumColumns(), len(want))
	}
	for i, w := range want {
		col := sc.Column(i)
		if col.Name() != w.name || col.PhysicalType() != w.physical || col.LogicalType().String() != w.logical ||
			(col.MaxDefinitionLevel() == 1) != w.optional {
			t.Errorf("column %d = %s %s %s optional=%v, want %s %s %s optional=%v", i,
				col.Name(), col.PhysicalType(), col.LogicalType(), col.MaxDefinitionLevel() == 1,
				w.name, w.physical, w.logical, w.optional)
		}
	}
	kv := pf.MetaData().KeyValueMetadata()
	if v := kv.FindValue(MetaStream); v == nil || *v != "task" {
		t.Errorf("%s = %v, want task", MetaStream, v)
	}
	v := kv.FindValue(MetaFields)
	if v == nil {
		t.Fatalf("%s missing", MetaFields)
	}
	var fields []struct {
		Name     string
		Metadata map[string]string
	}
	if err := json.Unmarshal([]byte(*v), &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 1 || fields[0].Name != "id" || fields[0].Metadata["extract.netsuite.kind"] != "integer" {
		t.Errorf("%s = %s", MetaFields, *v)
	}
}

// TestParquetZeroValuesNotNull guards the pitfall of parquet-go's reflective writer:
// false, 0, 0.0 and "" must stay values, distinct from NULL, in optional columns.
func TestParquetZeroValuesNotNull(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "t", Type: tsUTC, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	rows := []row{
		{int64(0), 0.0, false, "", arrow.Timestamp(0), arrow.Date32(0)},
		{nil, nil, nil, nil, nil, nil},
		{int64(-5), -0.5, true, "x", arrow.Timestamp(-1), arrow.Date32(-1)},
	}
	s := newTestSink(t, Parquet, nil)
	rc := writeBatches(t, s, "contact", schema, rows, 3)
	_, tbl := readParquet(t, rc.Path)
	compareTable(t, schema, tbl, rows)
}
