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
	"github.com/parquet-go/parquet-go/compress"
)

// Parquet file key-value metadata written by this package.
const (
	MetaStream = "extract.stream" // stream name
	MetaFields = "extract.fields" // JSON [{"name":…,"metadata":{…}}] for fields that carry Arrow metadata
)

// parquetEncoder writes through parquet-go's column writers: each Arrow column becomes
// the parquet.Values of one leaf column (levels included), handed to that column's
// writer. The reflective map/any path is avoided on purpose: it writes false, 0 and ""
// as NULL (design §4). Rows are not assembled: parquet-go's Row path would only split
// them into columns again.
//
// The writes mirror what parquet-go's WriteRows does with the same rows (chunks of
// writeChunk rows, row groups of exactly rowGroupRows rows), so the pages, and the file,
// are the same as the Row path's, byte for byte (TestParquetColumnPathMatchesRowPath).
//
// Every field is exactly one leaf column, so leaf index = field index. A scalar column
// has one value per row; a list column a variable number (one for a NULL or empty list,
// one per element otherwise), located by starts.
type parquetEncoder struct {
	w            *parquet.Writer
	cols         []column
	rowGroupRows int
	inGroup      int               // rows in the current row group
	vals         [][]parquet.Value // per column, the values of the current record
	starts       [][]int           // per list column, starts[i] = index in vals of row i's first value
	levels       []listLevels      // per column; used by list columns only
}

// writeChunk is how many rows parquet-go's WriteRows hands to each column writer at a
// time (to bound how far a page can outgrow its target size); the encoder does the same.
const writeChunk = 64

// listLevels are the definition levels of a list<int64> leaf
// (<name>.list.element). The repetition level is 0 for a row's first value and 1 for
// each further element.
type listLevels struct {
	empty   byte // a present, empty list: 1 if the list is optional, else 0
	element byte // a present element: empty + 1 (the repeated group is defined)
}

func newParquetEncoder(out io.Writer, stream string, schema *arrow.Schema, cols []column, rowGroupRows int) (*parquetEncoder, error) {
	w, err := newParquetWriter(out, stream, schema, cols, rowGroupRows, zstdFastest)
	if err != nil {
		return nil, err
	}
	e := &parquetEncoder{
		w:            w,
		cols:         cols,
		rowGroupRows: rowGroupRows,
		vals:         make([][]parquet.Value, len(cols)),
		starts:       make([][]int, len(cols)),
		levels:       make([]listLevels, len(cols)),
	}
	for c, col := range cols {
		if col.kind == kindInt64List {
			lv := listLevels{}
			if col.nullable {
				lv.empty = 1
			}
			lv.element = lv.empty + 1
			e.levels[c] = lv
		}
	}
	return e, nil
}

// newParquetWriter is the parquet-go writer for a file of cols.
// pageBufferSize is the uncompressed size at which a column's page is cut.
const pageBufferSize = 64 << 10

func newParquetWriter(out io.Writer, stream string, schema *arrow.Schema, cols []column, rowGroupRows int, codec compress.Codec) (*parquet.Writer, error) {
	ps, err := parquetSchema(stream, cols)
	if err != nil {
		return nil, err
	}
	opts := []parquet.WriterOption{
		ps,
		parquet.Compression(codec),
		// Without a cap parquet-go buffers the whole file as one row group (design §4).
		// The column path keeps to it itself (see write); the Row path reads it.
		parquet.MaxRowsPerRowGroup(int64(rowGroupRows)),
		// Each column buffers a page of plain values before it compresses it: parquet-go's
		// 256 KiB default costs ~11 MiB per open file at 40+ columns, and five streams
		// write at once. 64 KiB pages still hold thousands of values.
		parquet.PageBufferSize(pageBufferSize),
		parquet.KeyValueMetadata(MetaStream, stream),
	}
	if meta, ok := fieldMetadataJSON(schema); ok {
		opts = append(opts, parquet.KeyValueMetadata(MetaFields, meta))
	}
	cfg, err := parquet.NewWriterConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("parquet writer config: %w", err)
	}
	return parquet.NewWriter(out, cfg), nil
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
	n := int(rec.NumRows())
	// The values point into rec's buffers; drop them once parquet-go has copied them, so
	// the File never keeps a released record alive.
	defer func() {
		for c := range e.vals {
			clear(e.vals[c])
			e.vals[c] = e.vals[c][:0]
		}
	}()
	for c, col := range e.cols {
		arr := rec.Column(c)
		if arr.Len() != n {
			return fmt.Errorf("column %q has %d values, the record has %d rows", col.name, arr.Len(), n)
		}
		if col.kind == kindInt64List {
			if err := checkRequired(col, arr, n); err != nil {
				return err
			}
			l, err := bindInt64List(col, arr, n)
			if err != nil {
				return err
			}
			e.fillList(c, l, n)
			continue
		}
		if cap(e.vals[c]) < n {
			e.vals[c] = make([]parquet.Value, n)
		}
		e.vals[c] = e.vals[c][:n]
		if err := e.fill(c, col, arr, n); err != nil {
			return err
		}
	}
	for start := 0; start < n; {
		if e.inGroup >= e.rowGroupRows {
			if err := e.w.Flush(); err != nil {
				return err
			}
			e.inGroup = 0
		}
		end := min(n, start+e.rowGroupRows-e.inGroup)
		writers := e.w.ColumnWriters()
		for lo := start; lo < end; lo += writeChunk {
			hi := min(end, lo+writeChunk)
			for c, col := range e.cols {
				vals := e.vals[c]
				if col.kind == kindInt64List {
					vals = vals[e.starts[c][lo]:e.starts[c][hi]]
				} else {
					vals = vals[lo:hi]
				}
				if _, err := writers[c].WriteRowValues(vals); err != nil {
					return err
				}
			}
		}
		e.inGroup += end - start
		start = end
	}
	return nil
}

// fillList converts a list<int64> column into its leaf values:
//
//	NULL list       one NULL value, r=0, d=0
//	empty list      one NULL value, r=0, d=levels.empty
//	[x0, x1, …]     x0 at r=0 and the rest at r=1, all at d=levels.element
func (e *parquetEncoder) fillList(c int, l int64List, n int) {
	lv := e.levels[c]
	vals := e.vals[c][:0]
	starts := slices.Grow(e.starts[c][:0], n+1)
	null := parquet.NullValue().Level(0, 0, c)
	empty := parquet.NullValue().Level(0, int(lv.empty), c)
	hasNulls := l.arr.NullN() > 0
	for i := range n {
		starts = append(starts, len(vals))
		if hasNulls && l.arr.IsNull(i) {
			vals = append(vals, null)
			continue
		}
		lo, hi := l.offs[i], l.offs[i+1]
		if lo == hi {
			vals = append(vals, empty)
			continue
		}
		vals = append(vals, parquet.Int64Value(l.elems[lo]).Level(0, int(lv.element), c))
		for _, x := range l.elems[lo+1 : hi] {
			vals = append(vals, parquet.Int64Value(x).Level(1, int(lv.element), c))
		}
	}
	e.vals[c], e.starts[c] = vals, append(starts, len(vals))
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

// fill converts one Arrow scalar column into e.vals[c], one value per row. The type switch runs
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
	// The definition level of a present value. Values are made with their levels set in
	// place (Value.Level copies the 24-byte value and is not inlined). The column index
	// is left unset: a column writer's buffer knows its column and reads only the levels
	// (the byte-for-byte comparison with the Row path, which set it, would notice).
	def := 0
	if col.nullable {
		def = 1
	}
	null := parquet.NullValue().Level(0, 0, c)
	vals := e.vals[c]

	switch col.kind {
	case kindInt64:
		a, ok := arr.(*array.Int64)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.Int64Values() {
			if hasNulls && a.IsNull(i) {
				vals[i] = null
			} else {
				vals[i] = parquet.Int64Value(v)
				vals[i].SetDefinitionLevel(def)
			}
		}
	case kindFloat64:
		a, ok := arr.(*array.Float64)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.Float64Values() {
			if hasNulls && a.IsNull(i) {
				vals[i] = null
			} else {
				vals[i] = parquet.DoubleValue(v)
				vals[i].SetDefinitionLevel(def)
			}
		}
	case kindBool:
		a, ok := arr.(*array.Boolean)
		if !ok {
			return badArray(col, arr)
		}
		for i := range n {
			if hasNulls && a.IsNull(i) {
				vals[i] = null
			} else {
				vals[i] = parquet.BooleanValue(a.Value(i))
				vals[i].SetDefinitionLevel(def)
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
				vals[i] = null
			} else {
				// A present "" stays a present empty value: its definition level, not its
				// bytes, decides NULL.
				vals[i] = parquet.ByteArrayValue(data[offs[i]-base : offs[i+1]-base])
				vals[i].SetDefinitionLevel(def)
			}
		}
	case kindTimestamp:
		a, ok := arr.(*array.Timestamp)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.TimestampValues() {
			if hasNulls && a.IsNull(i) {
				vals[i] = null
			} else {
				vals[i] = parquet.Int64Value(int64(v))
				vals[i].SetDefinitionLevel(def)
			}
		}
	case kindDate32:
		a, ok := arr.(*array.Date32)
		if !ok {
			return badArray(col, arr)
		}
		for i, v := range a.Date32Values() {
			if hasNulls && a.IsNull(i) {
				vals[i] = null
			} else {
				vals[i] = parquet.Int32Value(int32(v))
				vals[i].SetDefinitionLevel(def)
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
