// Package schema declares the typed shape of each stream and converts NetSuite's raw
// string rows into Arrow record batches. It knows nothing about HTTP or files.
package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
)

// Kind is a column's NetSuite field type, which decides its Arrow type and its parser.
type Kind uint8

const (
	Text        Kind = iota + 1 // free text, ids of external systems, enum codes
	Integer                     // internal ids and references: int64
	Float                       // amounts, percentages: float64
	Bool                        // NetSuite "T"/"F"
	Date                        // calendar date without time: date32
	DateTime                    // instant, read in the session zone, stored as UTC µs
	Percent                     // a percentage as NetSuite shows it ("50" or "50%"): float64
	IntegerList                 // Multiple Select: the selected internal ids, list<int64>
)

var kindNames = map[Kind]string{Text: "text", Integer: "integer", Float: "float", Bool: "bool", Date: "date",
	DateTime: "datetime", Percent: "percent", IntegerList: "integer_list"}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind maps a kind name (as written by Kind.String) back to a Kind.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == strings.ToLower(s) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown column kind %q", s)
}

// ArrowType is the Arrow type a column of this kind is written as.
func (k Kind) ArrowType() arrow.DataType {
	switch k {
	case Integer:
		return arrow.PrimitiveTypes.Int64
	case Float, Percent:
		return arrow.PrimitiveTypes.Float64
	case IntegerList:
		return arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Date:
		return arrow.FixedWidthTypes.Date32
	case DateTime:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	default:
		return arrow.BinaryTypes.String
	}
}

// Column is one output column. Name is the output column name; Field the lowercase
// NetSuite field id it is read from, which is Name unless the connector had to rename
// the column (a custom field whose type changed keeps its old name for the old type).
type Column struct {
	Name    string
	Field   string // NetSuite field id; "" means Name
	Kind    Kind
	Custom  bool // a custom field (custentity…, custevent…) rather than a standard one
	Derived bool // set by the connector (e.g. _deleted), never selected from NetSuite
	// Label and ValueType are NetSuite's own description of a custom field (the
	// customfield table's name and fieldvaluetype); empty for standard columns.
	Label, ValueType string
}

// FieldID is the NetSuite field the column is read from.
func (c Column) FieldID() string {
	if c.Field != "" {
		return c.Field
	}
	return c.Name
}

// Table is the declarative description of one stream.
type Table struct {
	Name       string // stream name; also the SuiteQL table
	Columns    []Column
	PrimaryKey string // always "id" for the CRM records
	// Keys are further columns that identify a row together with PrimaryKey (a child
	// row's parent, say); empty for the CRM records.
	Keys   []string
	Cursor string // incremental column, "lastmodifieddate"; "" for a table read otherwise
}

// IsKey reports whether name is the primary key or one of Keys.
func (t Table) IsKey(name string) bool { return name == t.PrimaryKey || slices.Contains(t.Keys, name) }

// Column returns the named column.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Validate checks the declaration: unique lowercase names, a primary key of kind Integer
// and a cursor of kind DateTime.
func (t Table) Validate() error {
	if t.Name == "" {
		return fmt.Errorf("table without a name")
	}
	seen := make(map[string]bool, len(t.Columns))
	for _, c := range t.Columns {
		if c.Derived && (t.IsKey(c.Name) || c.Name == t.Cursor) {
			return fmt.Errorf("table %s: key column %q cannot be derived", t.Name, c.Name)
		}
		if c.Name == "" || c.Name != strings.ToLower(c.Name) || c.FieldID() != strings.ToLower(c.FieldID()) {
			return fmt.Errorf("table %s: column %q must be a non-empty lowercase name", t.Name, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("table %s: column %q declared twice", t.Name, c.Name)
		}
		if _, ok := kindNames[c.Kind]; !ok {
			return fmt.Errorf("table %s: column %q has no kind", t.Name, c.Name)
		}
		seen[c.Name] = true
	}
	if pk, ok := t.Column(t.PrimaryKey); !ok || pk.Kind != Integer {
		return fmt.Errorf("table %s: primary key %q must be a declared integer column", t.Name, t.PrimaryKey)
	}
	for _, k := range t.Keys {
		if c, ok := t.Column(k); !ok || c.Kind != Integer {
			return fmt.Errorf("table %s: key %q must be a declared integer column", t.Name, k)
		}
	}
	if cur, ok := t.Column(t.Cursor); t.Cursor != "" && (!ok || cur.Kind != DateTime) {
		return fmt.Errorf("table %s: cursor %q must be a declared datetime column", t.Name, t.Cursor)
	}
	return nil
}

// Field metadata keys. They ride on each Arrow field so downstream code (and readers of
// the schema) know a column's NetSuite facts without a side table.
const (
	MetaKind       = "extract.netsuite.kind"
	MetaField      = "extract.netsuite.field"
	MetaPrimaryKey = "extract.primary_key"
	MetaCursor     = "extract.cursor"
	MetaCustom     = "extract.custom"
	MetaDerived    = "extract.derived"
	MetaLabel      = "extract.netsuite.label"
	MetaValueType  = "extract.netsuite.value_type"
)

// ArrowSchema is the stream's Arrow schema: one field per column in declaration order.
// Every column is nullable except the primary key, because NetSuite omits NULL values.
func (t Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		keys := []string{MetaKind, MetaField}
		vals := []string{c.Kind.String(), c.FieldID()}
		if t.IsKey(c.Name) {
			keys, vals = append(keys, MetaPrimaryKey), append(vals, "true")
		}
		if c.Name == t.Cursor && t.Cursor != "" {
			keys, vals = append(keys, MetaCursor), append(vals, "true")
		}
		if c.Custom {
			keys, vals = append(keys, MetaCustom), append(vals, "true")
		}
		if c.Derived {
			keys, vals = append(keys, MetaDerived), append(vals, "true")
		}
		if c.Label != "" {
			keys, vals = append(keys, MetaLabel), append(vals, c.Label)
		}
		if c.ValueType != "" {
			keys, vals = append(keys, MetaValueType), append(vals, c.ValueType)
		}
		fields[i] = arrow.Field{
			Name:     c.Name,
			Type:     c.Kind.ArrowType(),
			Nullable: !t.IsKey(c.Name),
			Metadata: arrow.NewMetadata(keys, vals),
		}
	}
	md := arrow.NewMetadata([]string{"extract.stream"}, []string{t.Name})
	return arrow.NewSchema(fields, &md)
}
