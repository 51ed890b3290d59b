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
type parquetEncoder struct {
	w    *parquet.Writer
	cols []column
	vals []parquet.Value // row-major backing store for rows, reused across batches
	rows []parquet.Row   // rows[i] = vals[i*len(cols) : (i+1)*len(cols)]
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
	return &parquetEncoder{w: parquet.NewWriter(out, cfg), cols: cols}, nil
}

// parquetSchema builds the file schema with columns in Arrow field order. parquet.Group
// alone would sort them by name, so the root is an orderedGroup; the resulting leaf order
// is checked rather than trusted, because the row layout below depends on it.
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
	for i, path := range schema.Columns() {
		if len(path) != 1 || path[0] != names[i] {
			return nil, fmt.Errorf("parquet schema column %d is %q, want %q", i, strings.Join(path, "."), names[i])
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
