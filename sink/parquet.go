package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Parquet file key-value metadata written by this package.
const (
	MetaStream = "extract.stream" // stream name
	MetaFields = "extract.fields" // JSON [{"name":…,"metadata":{…}}] for fields that carry Arrow metadata
)

// zstdFastest is shared by all writers: the codec pools its encoders (sync.Pool), and a
// zstd encoder is expensive enough to be worth reusing across files.
var zstdFastest = &zstd.Codec{Level: zstd.SpeedFastest}

// parquetEncoder writes rows through parquet-go's explicit Row path. The reflective
// map/any path is avoided on purpose: it writes false, 0 and "" as NULL (design §4).
//
// Every field is exactly one leaf column, so leaf index = field index. Without a list
// column every row has exactly one value per column, and rows are fixed-width windows of
// vals. A list column contributes a variable number of values to a row (one for a NULL
// or empty list, one per element otherwise), so when the schema has one, scalar cells
// are still filled into vals by the same code and then spliced, row by row and in leaf
// order, with the list values into lvals (see assemble).
type parquetEncoder struct {
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

// listLevels are the definition levels of a list<int64> leaf
// (<name>.list.element). The repetition level is 0 for a row's first value and 1 for
// each further element.
type listLevels struct {
	empty   byte // a present, empty list: 1 if the list is optional, else 0
	element byte // a present element: empty + 1 (the repeated group is defined)
}

func newParquetEncoder(out io.Writer, stream string, schema *arrow.Schema, cols []column, rowGroupRows int) (*parquetEncoder, error) {
	ps, err := parquetSchema(stream, cols)
	if err != nil {
		return nil, err
	}
	opts := []parquet.WriterOption{
		ps,
		parquet.Compression(zstdFastest),
		// Without a cap parquet-go buffers the whole file as one row group (design §4).
		parquet.MaxRowsPerRowGroup(int64(rowGroupRows)),
		parquet.KeyValueMetadata(MetaStream, stream),
	}
	if meta, ok := fieldMetadataJSON(schema); ok {
		opts = append(opts, parquet.KeyValueMetadata(MetaFields, meta))
	}
	cfg, err := parquet.NewWriterConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("parquet writer config: %w", err)
	}
	e := &parquetEncoder{w: parquet.NewWriter(out, cfg), cols: cols}
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

// parquetSchema builds the file schema with columns in Arrow field order. parquet.Group
// alone would sort them by name, so the root is an orderedGroup; the resulting leaf order
// and levels are checked rather than trusted, because the row layout below depends on
// them.
func parquetSchema(stream string, cols []column) (*parquet.Schema, error) {
	names := make([]string, len(cols))
	nodes := make([]parquet.Node, len(cols))
	for i, c := range cols {
		var n parquet.Node
		switch c.kind {
		case kindInt64:
			n = parquet.Int(64)
		case kindFloat64:
			n = parquet.Leaf(parquet.DoubleType)
		case kindBool:
			n = parquet.Leaf(parquet.BooleanType)
		case kindString:
			n = parquet.String()
		case kindTimestamp:
			n = parquet.Timestamp(parquet.Microsecond) // INT64, isAdjustedToUTC=true
		case kindDate32:
			n = parquet.Date() // INT32 days
		case kindInt64List:
			// The standard three-level LIST: <name> (LIST) { repeated group list {
			// required int64 element } }, which pqarrow, DuckDB and Spark read as
			// list<int64>. The element is required: NULL elements are refused.
			n = parquet.List(parquet.Required(parquet.Int(64)))
		default:
			return nil, fmt.Errorf("field %q: no parquet type for kind %d", c.name, c.kind)
		}
		if c.nullable {
			n = parquet.Optional(n)
		} else {
			n = parquet.Required(n)
		}
		names[i], nodes[i] = c.name, n
	}
	schema := parquet.NewSchema(stream, newOrderedGroup(names, nodes))
	leaves := schema.Columns()
	if len(leaves) != len(cols) {
		return nil, fmt.Errorf("parquet schema has %d leaf columns, want %d", len(leaves), len(cols))
	}
	for i, c := range cols {
		path := []string{c.name}
		maxRep, maxDef := 0, 0
		if c.nullable {
			maxDef = 1
		}
		if c.kind == kindInt64List {
			path = append(path, "list", "element")
			maxRep, maxDef = 1, maxDef+1
		}
		leaf, ok := schema.Lookup(path...)
		if !slices.Equal(leaves[i], path) || !ok || leaf.ColumnIndex != i ||
			leaf.MaxRepetitionLevel != maxRep || leaf.MaxDefinitionLevel != maxDef {
			return nil, fmt.Errorf("parquet schema column %d is %q (index %d, levels r%d d%d), want %q (levels r%d d%d)",
				i, strings.Join(leaves[i], "."), leaf.ColumnIndex, leaf.MaxRepetitionLevel, leaf.MaxDefinitionLevel,
				strings.Join(path, "."), maxRep, maxDef)
		}
	}
	return schema, nil
}

// orderedGroup is a parquet group node whose fields keep the order they were given in.
// Everything but the field order (and String, which prints it) comes from parquet.Group.
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

var _ parquet.Node = (*orderedGroup)(nil)

func newOrderedGroup(names []string, nodes []parquet.Node) *orderedGroup {
	g := make(parquet.Group, len(names))
	for i, name := range names {
		g[name] = nodes[i]
	}
	// Reuse the library's own Field values (they implement Value for the reflective
	// paths) and only put them back in our order.
	fields := g.Fields()
	slices.SortFunc(fields, func(a, b parquet.Field) int {
		return slices.Index(names, a.Name()) - slices.Index(names, b.Name())
	})
	return &orderedGroup{Group: g, fields: fields}
}

func (g *orderedGroup) Fields() []parquet.Field { return g.fields }

func (g *orderedGroup) String() string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, "", g)
	return b.String()
}

// fieldMetadataJSON serialises the Arrow field metadata (NetSuite field ids, kinds, …)
// in field order, so a Parquet reader sees the same column facts as the Arrow schema.
func fieldMetadataJSON(schema *arrow.Schema) (string, bool) {
	type field struct {
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	var fields []field
	for _, f := range schema.Fields() {
		if f.Metadata.Len() == 0 {
			continue
		}
		m := make(map[string]string, f.Metadata.Len())
		for i, k := range f.Metadata.Keys() {
			m[k] = f.Metadata.Values()[i]
		}
		fields = append(fields, field{Name: f.Name, Metadata: m})
	}
	if len(fields) == 0 {
		return "", false
	}
	b, err := json.Marshal(fields)
	if err != nil { // cannot happen for strings
		return "", false
	}
	return string(b), true
}

func (e *parquetEncoder) write(rec arrow.Record) error {
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
func (e *parquetEncoder) writeWithLists(rec arrow.Record) error {
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
func (e *parquetEncoder) assemble(n int) {
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

// checkRequired reports the first NULL in a column that is not nullable: Arrow does
// not enforce nullability, so the sink must.
func checkRequired(col column, arr arrow.Array, n int) error {
	if col.nullable || arr.NullN() == 0 {
		return nil
	}
	for i := range n {
		if arr.IsNull(i) {
			return fmt.Errorf("column %q is not nullable but row %d is null", col.name, i)
		}
	}
	return nil
}

// fill converts one Arrow column into the c-th value of each row. The type switch runs
// once per column and batch; the loops below are monomorphic.
func (e *parquetEncoder) fill(c int, col column, arr arrow.Array, n int) error {
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

func (e *parquetEncoder) finish() error { return e.w.Close() }

func badArray(col column, arr arrow.Array) error {
	return fmt.Errorf("column %q: array type %T does not match the schema", col.name, arr)
}
