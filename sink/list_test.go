package sink

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/schema"
)

// TestParquetListPhysicalSchema checks the Parquet shape of list<int64> columns, which
// pqarrow's Arrow schema alone does not show: the standard three-level LIST with a
// required element, optional or required outer group, and the leaf's levels.
func TestParquetListPhysicalSchema(t *testing.T) {
	s := newTestSink(t, Parquet, nil)
	sch := listSchema()
	rc := writeBatches(t, s, "customer", sch, genListRows(20, false), 20)
	pf, _ := readParquet(t, rc.Path)
	ps := pf.MetaData().Schema
	if ps.NumColumns() != sch.NumFields() {
		t.Fatalf("%d leaf columns, want %d", ps.NumColumns(), sch.NumFields())
	}
	root := ps.Root()
	for i, f := range sch.Fields() {
		if f.Type.ID() != arrow.LIST {
			continue
		}
		wantRep, wantDef := parquet.Repetitions.Required, int16(1)
		if f.Nullable {
			wantRep, wantDef = parquet.Repetitions.Optional, 2
		}
		col := ps.Column(i)
		if got := col.Path(); got != f.Name+".list.element" {
			t.Errorf("column %d path = %s, want %s.list.element", i, got, f.Name)
		}
		if col.PhysicalType() != parquet.Types.Int64 || col.MaxRepetitionLevel() != 1 || col.MaxDefinitionLevel() != wantDef {
			t.Errorf("column %s = %s r%d d%d, want INT64 r1 d%d", f.Name, col.PhysicalType(),
				col.MaxRepetitionLevel(), col.MaxDefinitionLevel(), wantDef)
		}
		outer, ok := root.Field(i).(*schema.GroupNode)
		if !ok || outer.Name() != f.Name || outer.RepetitionType() != wantRep ||
			!outer.LogicalType().Equals(schema.ListLogicalType{}) || outer.NumFields() != 1 {
			t.Errorf("field %d = %v, want a %s group %s (LIST) with one child", i, root.Field(i), wantRep, f.Name)
			continue
		}
		list, ok := outer.Field(0).(*schema.GroupNode)
		if !ok || list.Name() != "list" || list.RepetitionType() != parquet.Repetitions.Repeated || list.NumFields() != 1 {
			t.Errorf("%s child = %v, want repeated group list with one child", f.Name, outer.Field(0))
			continue
		}
		elem, ok := list.Field(0).(*schema.PrimitiveNode)
		if !ok || elem.Name() != "element" || elem.RepetitionType() != parquet.Repetitions.Required ||
			elem.PhysicalType() != parquet.Types.Int64 {
			t.Errorf("%s element = %v, want required int64 element", f.Name, list.Field(0))
		}
	}
}

// TestInt64ListCells writes a few hand-made list columns through both formats and
// checks each cell, including records Arrow's builders never produce: a NULL list
// whose offsets still span values (one of them NULL), and a child array that is
// itself sliced.
func TestInt64ListCells(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "ids", Type: listOfInt64NullElem, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	// Child values: [99 | 10 11 NULL 13 14]; the child is sliced by one, so the list
	// offsets index [10 11 NULL 13 14]. Rows: [10 11], NULL (spanning NULL, 13), [14], [].
	cb := array.NewInt64Builder(memory.DefaultAllocator)
	cb.AppendValues([]int64{99, 10, 11, 0, 13, 14}, []bool{true, true, true, false, true, true})
	whole := cb.NewInt64Array()
	cb.Release()
	child := array.NewSlice(whole, 1, 6)
	whole.Release()
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 2, 4, 5, 5}))
	valid := memory.NewBufferBytes([]byte{0b1101})
	data := array.NewData(listOfInt64NullElem, 4, []*memory.Buffer{valid, offsets}, []arrow.ArrayData{child.Data()}, 1, 0)
	child.Release()
	lists := array.NewListData(data)
	data.Release()
	nb := array.NewInt64Builder(memory.DefaultAllocator)
	nb.AppendValues([]int64{1, 2, 3, 4}, nil)
	ns := nb.NewInt64Array()
	nb.Release()
	rec := array.NewRecord(sch, []arrow.Array{lists, ns}, 4)
	lists.Release()
	ns.Release()
	defer rec.Release()
	want := []row{{[]int64{10, 11}, int64(1)}, {nil, int64(2)}, {[]int64{14}, int64(3)}, {[]int64{}, int64(4)}}

	t.Run("parquet", func(t *testing.T) {
		s := newTestSink(t, Parquet, func(o *Options) { o.RowGroupRows = 3 })
		f, err := s.Create(t.Context(), "task", sch)
		if err != nil {
			t.Fatal(err)
		}
		tail := rec.NewSlice(1, 4)
		defer tail.Release()
		for _, r := range []arrow.Record{rec, tail} {
			if err := f.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		rc, err := f.Commit()
		if err != nil {
			t.Fatal(err)
		}
		_, tbl := readParquet(t, rc.Path)
		compareTable(t, sch, tbl, append(want, want[1:]...))
	})
	t.Run("ndjson", func(t *testing.T) {
		s := newTestSink(t, NDJSON, nil)
		f, err := s.Create(t.Context(), "task", sch)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Commit()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(rc.Path)
		if err != nil {
			t.Fatal(err)
		}
		const wantText = `{"ids":[10,11],"n":1}` + "\n" + `{"ids":null,"n":2}` + "\n" + `{"ids":[14],"n":3}` + "\n" + `{"ids":[],"n":4}` + "\n"
		if string(got) != wantText {
			t.Errorf("got:\n%s\nwant:\n%s", got, wantText)
		}
	})
}

func TestInt64ListWriteRejects(t *testing.T) {
	tests := []struct {
		name    string
		field   arrow.Field
		build   func(b *array.ListBuilder) // three rows
		wantErr []string
	}{
		{
			name:  "null element, nullable element type",
			field: arrow.Field{Name: "custentity_tags", Type: listOfInt64NullElem, Nullable: true},
			build: func(b *array.ListBuilder) {
				vb := b.ValueBuilder().(*array.Int64Builder)
				b.Append(true)
				vb.Append(1)
				b.Append(true)
				vb.Append(2)
				vb.AppendNull()
				b.AppendNull()
			},
			wantErr: []string{`"custentity_tags"`, "row 1", "NULL list element at position 1"},
		},
		{
			// Arrow does not enforce a non-nullable element, so the sink checks it too.
			name:  "null element, non-nullable element type",
			field: arrow.Field{Name: "custentity_tags", Type: listOfInt64, Nullable: true},
			build: func(b *array.ListBuilder) {
				vb := b.ValueBuilder().(*array.Int64Builder)
				b.Append(true)
				b.Append(true)
				b.Append(true)
				vb.AppendNull()
			},
			wantErr: []string{`"custentity_tags"`, "row 2", "NULL list element at position 0"},
		},
		{
			name:  "null list in a required column",
			field: arrow.Field{Name: "custentity_req", Type: listOfInt64},
			build: func(b *array.ListBuilder) {
				b.Append(true)
				b.AppendEmptyValue()
				b.AppendNull()
			},
			wantErr: []string{`"custentity_req"`, "row 2", "not nullable"},
		},
	}
	for _, format := range []Format{Parquet, NDJSON} {
		for _, tt := range tests {
			t.Run(string(format)+"/"+tt.name, func(t *testing.T) {
				sch := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, tt.field}, nil)
				rb := array.NewRecordBuilder(memory.DefaultAllocator, sch)
				defer rb.Release()
				rb.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
				tt.build(rb.Field(1).(*array.ListBuilder))
				rec := rb.NewRecord()
				defer rec.Release()

				s := newTestSink(t, format, nil)
				f, err := s.Create(t.Context(), "task", sch)
				if err != nil {
					t.Fatal(err)
				}
				err = f.Write(rec)
				if err == nil {
					t.Fatal("Write succeeded")
				}
				for _, w := range append(tt.wantErr, "stream task") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if err := f.Abort(); err != nil {
					t.Fatal(err)
				}
				assertNoFiles(t, runDirOf(s, "task"))
			})
		}
	}
}

// TestCreateAcceptsInt64Lists covers each way a list<int64> field may be declared.
func TestCreateAcceptsInt64Lists(t *testing.T) {
	for _, format := range []Format{Parquet, NDJSON} {
		s := newTestSink(t, format, nil)
		for _, typ := range []*arrow.ListType{listOfInt64, listOfInt64NullElem,
			arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int64})} {
			for _, nullable := range []bool{true, false} {
				sch := arrow.NewSchema([]arrow.Field{{Name: "ids", Type: typ, Nullable: nullable}}, nil)
				f, err := s.Create(t.Context(), "task", sch)
				if err != nil {
					t.Errorf("%s: Create(%s) = %v", format, sch, err)
					continue
				}
				if err := f.Abort(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// FuzzInt64List derives a list-heavy table from the input (NULL, empty and non-empty
// lists of any length, batch sizes, tiny row groups) and checks that Parquet, read back
// by Arrow, and NDJSON both reproduce it exactly.
func FuzzInt64List(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(3))
	f.Add([]byte{}, uint8(1))
	f.Add([]byte{5, 10, 15, 0, 255, 128, 127, 1, 2, 16, 32, 64}, uint8(2))
	f.Add(bytes.Repeat([]byte{0xf3}, 150), uint8(0))
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "ids", Type: listOfInt64, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "req", Type: listOfInt64},
		{Name: "memo", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "more", Type: listOfInt64NullElem, Nullable: true},
	}, nil)
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		if len(data) > 300 {
			data = data[:300]
		}
		list := func(b byte, salt uint64, nullable bool) any {
			if nullable && b%5 == 0 {
				return nil
			}
			l := make([]int64, int(b>>3)%9) // 0..8 elements
			for j := range l {
				l[j] = int64((uint64(b)+salt)*0x9E3779B97F4A7C15 + uint64(j)*0xBF58476D1CE4E5B9)
			}
			return l
		}
		rows := make([]row, len(data))
		for i, b := range data {
			var memo any = string(rune('a' + b%26))
			if b%3 == 0 {
				memo = nil
			}
			c := data[(i+1)%len(data)]
			rows[i] = row{list(b, 1, true), int64(i), list(c, 2, false), memo, list(b^c, 3, true)}
		}
		size := int(batch%64) + 1

		s := newTestSink(t, Parquet, func(o *Options) { o.RowGroupRows = int(batch%7) + 1 })
		rc := writeBatches(t, s, "task", sch, rows, size)
		_, tbl := readParquet(t, rc.Path)
		compareTable(t, sch, tbl, rows)

		s = newTestSink(t, NDJSON, nil)
		rc = writeBatches(t, s, "task", sch, rows, size)
		text, err := os.ReadFile(rc.Path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(text))
		n := 0
		for ; sc.Scan(); n++ {
			_, vals := decodeLine(t, sc.Bytes())
			for c := range vals {
				if !checkJSONCell(t, rows[n][c], vals[c]) {
					t.Fatalf("line %d column %d = %s, want %s", n, c, show(vals[c]), show(rows[n][c]))
				}
			}
		}
		if n != len(rows) {
			t.Fatalf("%d lines, want %d", n, len(rows))
		}
	})
}
