package sink

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	parquetzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// rowEncoder is the Parquet encoder before the column path, kept as test code only:
// TestParquetColumnPathMatchesRowPath checks that the column path writes the same bytes.
// It writes rows through parquet-go's explicit Row path. The reflective
// map/any path is avoided on purpose: it writes false, 0 and "" as NULL (design §4).
//
// Every field is exactly one leaf column, so leaf index = field index. Without a list
// column every row has exactly one value per column, and rows are fixed-width windows of
// vals. A list column contributes a variable number of values to a row (one for a NULL
// or empty list, one per element otherwise), so when the schema has one, scalar cells
// are still filled into vals by the same code and then spliced, row by row and in leaf
// order, with the list values into lvals (see assemble).
type rowEncoder struct {
	w    *parquet.Writer
	cols []column
	vals []parquet.Value // row-major backing store for rows, reused across batches
	rows []parquet.Row   // rows[i] = vals[i*len(cols) : (i+1)*len(cols)] without lists

	// Only used when the schema has list columns.
	lists  []int           // field indexes of the list columns, ascending
	bound  []int64List     // lists[j] bound to the current record
	lvals  []parquet.Value // backing store of the variable-width rows
	ends   []int           // ends[i] = end of row i in lvals
	levels []listLevels    // per list column
}

func (e *rowEncoder) write(rec arrow.Record) error {
	if len(e.lists) > 0 {
		return e.writeWithLists(rec)
	}
	n, k := int(rec.NumRows()), len(e.cols)
	if cap(e.vals) < n*k {
		e.vals = make([]parquet.Value, n*k)
		e.rows = e.rows[:0]
	}
	e.vals = e.vals[:n*k]
	if len(e.rows) != n {
		e.rows = slices.Grow(e.rows[:0], n)[:n]
		for i := range e.rows {
			e.rows[i] = e.vals[i*k : (i+1)*k : (i+1)*k]
		}
	}
	// The values point into rec's string buffers; drop them once parquet-go has copied
	// them, so the File never keeps a released record alive.
	defer clear(e.vals)

	for c, col := range e.cols {
		if err := e.fill(c, col, rec.Column(c), n); err != nil {
			return err
		}
	}
	if _, err := e.w.WriteRows(e.rows); err != nil {
		return err
	}
	return nil
}

// writeWithLists is write for a schema with at least one list column. Scalar columns
// are filled into the fixed-width vals exactly as in write (list slots stay empty); then
// assemble builds the real, variable-width rows in lvals.
func (e *rowEncoder) writeWithLists(rec arrow.Record) error {
	n, k := int(rec.NumRows()), len(e.cols)
	if cap(e.vals) < n*k {
		e.vals = make([]parquet.Value, n*k)
	}
	e.vals = e.vals[:n*k]
	defer clear(e.vals)
	defer clear(e.bound)

	next := 0 // index into e.lists of the next list column
	for c, col := range e.cols {
		arr := rec.Column(c)
		if next < len(e.lists) && e.lists[next] == c {
			if arr.Len() != n {
				return fmt.Errorf("column %q has %d values, the record has %d rows", col.name, arr.Len(), n)
			}
			if err := checkRequired(col, arr, n); err != nil {
				return err
			}
			l, err := bindInt64List(col, arr, n)
			if err != nil {
				return err
			}
			e.bound[next] = l
			next++
			continue
		}
		if err := e.fill(c, col, arr, n); err != nil {
			return err
		}
	}
	e.assemble(n)
	defer clear(e.lvals)
	if _, err := e.w.WriteRows(e.rows); err != nil {
		return err
	}
	return nil
}

// assemble builds rows of n values in leaf order: for each row, the runs of scalar
// values between list columns are copied from vals, and each list contributes
//
//	NULL list       one NULL value, r=0, d=0
//	empty list      one NULL value, r=0, d=levels.empty
//	[x0, x1, …]     x0 at r=0 and the rest at r=1, all at d=levels.element
//
// parquet-go groups a row's values by column (Row.Range), so each column must appear
// exactly once, as one run, in leaf order: which this guarantees.
func (e *rowEncoder) assemble(n int) {
	k := len(e.cols)
	out := e.lvals[:0]
	e.ends = slices.Grow(e.ends[:0], n)[:n]
	for i := range n {
		row := e.vals[i*k : (i+1)*k]
		prev := 0
		for j, c := range e.lists {
			out = append(out, row[prev:c]...)
			prev = c + 1
			l, lv := &e.bound[j], e.levels[j]
			if l.arr.IsNull(i) {
				out = append(out, parquet.NullValue().Level(0, 0, c))
				continue
			}
			lo, hi := l.offs[i], l.offs[i+1]
			if lo == hi {
				out = append(out, parquet.NullValue().Level(0, int(lv.empty), c))
				continue
			}
			out = append(out, parquet.Int64Value(l.elems[lo]).Level(0, int(lv.element), c))
			for _, x := range l.elems[lo+1 : hi] {
				out = append(out, parquet.Int64Value(x).Level(1, int(lv.element), c))
			}
		}
		out = append(out, row[prev:]...)
		e.ends[i] = len(out)
	}
	// Slice the rows only now: out may have moved while it grew.
	e.lvals = out
	e.rows = slices.Grow(e.rows[:0], n)[:n]
	start := 0
	for i, end := range e.ends {
		e.rows[i] = out[start:end:end]
		start = end
	}
}

// fill converts one Arrow column into the c-th value of each row. The type switch runs
// once per column and batch; the loops below are monomorphic.
func (e *rowEncoder) fill(c int, col column, arr arrow.Array, n int) error {
	if arr.Len() != n {
		return fmt.Errorf("column %q has %d values, the record has %d rows", col.name, arr.Len(), n)
	}
	hasNulls := arr.NullN() > 0
	if hasNulls && !col.nullable {
		for i := range n {
			if arr.IsNull(i) {
				return fmt.Errorf("column %q is not nullable but row %d is null", col.name, i)
			}
		}
	}
	def := 0 // definition level of a present value
	if col.nullable {
		def = 1
	}
	k := len(e.cols)
	null := parquet.NullValue().Level(0, 0, c)
	vals := e.vals

	switch col.kind {
	case kindInt64:
		a, ok := arr.(*array.Int64)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.Int64Values() {
			if hasNulls && a.IsNull(i) {
				vals[i*k+c] = null
			} else {
				vals[i*k+c] = parquet.Int64Value(v).Level(0, def, c)
			}
		}
	case kindFloat64:
		a, ok := arr.(*array.Float64)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.Float64Values() {
			if hasNulls && a.IsNull(i) {
				vals[i*k+c] = null
			} else {
				vals[i*k+c] = parquet.DoubleValue(v).Level(0, def, c)
			}
		}
	case kindBool:
		a, ok := arr.(*array.Boolean)
		if !ok {
			return badArray(col, arr)
		}
		for i := range n {
			if hasNulls && a.IsNull(i) {
				vals[i*k+c] = null
			} else {
				vals[i*k+c] = parquet.BooleanValue(a.Value(i)).Level(0, def, c)
			}
		}
	case kindString:
		a, ok := arr.(*array.String)
		if !ok {
			return badArray(col, arr)
		}
		// Slice the data buffer directly rather than through Value(i) (a string) so no
		// copy or conversion is needed; offsets are relative to offs[0] after slicing.
		offs, data := a.ValueOffsets(), a.ValueBytes()
		base := offs[0]
		for i := range n {
			if hasNulls && a.IsNull(i) {
				vals[i*k+c] = null
			} else {
				// A present "" stays a present empty value: its definition level, not its
				// bytes, decides NULL.
				vals[i*k+c] = parquet.ByteArrayValue(data[offs[i]-base:offs[i+1]-base]).Level(0, def, c)
			}
		}
	case kindTimestamp:
		a, ok := arr.(*array.Timestamp)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.TimestampValues() {
			if hasNulls && a.IsNull(i) {
				vals[i*k+c] = null
			} else {
				vals[i*k+c] = parquet.Int64Value(int64(v)).Level(0, def, c)
			}
		}
	case kindDate32:
		a, ok := arr.(*array.Date32)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.Date32Values() {
			if hasNulls && a.IsNull(i) {
				vals[i*k+c] = null
			} else {
				vals[i*k+c] = parquet.Int32Value(int32(v)).Level(0, def, c)
			}
		}
	default:
		return fmt.Errorf("column %q: unhandled kind %d", col.name, col.kind)
	}
	return nil
}

func (e *rowEncoder) finish() error { return e.w.Close() }

// newRowEncoder is the old constructor, on the same writer configuration.
func newRowEncoder(out io.Writer, stream string, schema *arrow.Schema, cols []column, rowGroupRows int, codec compress.Codec) (*rowEncoder, error) {
	w, err := newParquetWriter(out, stream, schema, cols, rowGroupRows, codec)
	if err != nil {
		return nil, err
	}
	e := &rowEncoder{w: w, cols: cols}
	for c, col := range cols {
		if col.kind == kindInt64List {
			lv := listLevels{}
			if col.nullable {
				lv.empty = 1
			}
			lv.element = lv.empty + 1
			e.lists = append(e.lists, c)
			e.levels = append(e.levels, lv)
		}
	}
	e.bound = make([]int64List, len(e.lists))
	return e, nil
}

// TestParquetColumnPathMatchesRowPath: the column encoder (with the sink's zstd codec)
// writes the very bytes the Row path wrote (with parquet-go's own codec), whatever the
// batch sizes and row group size, sliced records and list columns included.
func TestParquetColumnPathMatchesRowPath(t *testing.T) {
	type schemaCase struct {
		name   string
		schema *arrow.Schema
		rows   []row
	}
	schemas := []schemaCase{
		{"scalars", testSchema(), genRows(700, false)},
		{"lists", listSchema(), genListRows(700, false)},
	}
	layouts := []struct {
		rowGroupRows int
		sizes        []int
	}{
		{50_000, []int{1000}},
		{100, []int{1000}},
		{64, []int{63, 65, 1, 200}},
		{333, []int{0, 17, 500}},
		{1, []int{3}},
	}
	for _, sc := range schemas {
		cols, err := compileColumns(sc.schema)
		if err != nil {
			t.Fatal(err)
		}
		for _, lay := range layouts {
			t.Run(fmt.Sprintf("%s/rg=%d/sizes=%v", sc.name, lay.rowGroupRows, lay.sizes), func(t *testing.T) {
				var got, want bytes.Buffer
				ce, err := newParquetEncoder(&got, "s", sc.schema, cols, lay.rowGroupRows)
				if err != nil {
					t.Fatal(err)
				}
				re, err := newRowEncoder(&want, "s", sc.schema, cols, lay.rowGroupRows, &parquetzstd.Codec{Level: parquetzstd.SpeedFastest})
				if err != nil {
					t.Fatal(err)
				}
				for i, k := 0, 0; i < len(sc.rows); k++ {
					n := lay.sizes[k%len(lay.sizes)]
					j := min(i+n, len(sc.rows))
					rec := buildRecord(t, sc.schema, sc.rows[max(0, i-3):j])
					if i >= 3 {
						sliced := rec.NewSlice(3, rec.NumRows()) // a non-zero array offset
						rec.Release()
						rec = sliced
					}
					if err := ce.write(rec); err != nil {
						t.Fatal(err)
					}
					if err := re.write(rec); err != nil {
						t.Fatal(err)
					}
					rec.Release()
					i = j
				}
				if err := ce.finish(); err != nil {
					t.Fatal(err)
				}
				if err := re.finish(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("column path wrote %d bytes, Row path %d, and they differ", got.Len(), want.Len())
				}
			})
		}
	}
}
