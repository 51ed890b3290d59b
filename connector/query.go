package connector

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/extract-dev/extract/schema"
)

// SuiteQL formats. HH24, never HH: HH is the 12-hour clock and loses half the day.
const (
	sqlDateTimeFormat = "YYYY-MM-DD HH24:MI:SS"
	sqlDateFormat     = "YYYY-MM-DD"
)

// Keyset is a position in (lastmodifieddate, id) order. Cursor is the datetime exactly as
// NetSuite rendered it with TO_CHAR in the session zone, so it is replayed verbatim.
type Keyset struct {
	Cursor string
	ID     int64
}

// Window is the part of a stream one query reads: rows with Lower ≤ lastmodifieddate <
// Upper (a zero Lower means no lower bound), strictly after the keyset position After.
type Window struct {
	Lower, Upper time.Time
	After        *Keyset
}

// Query is what an incremental query reads: Table's columns but those the connector
// derives, with Filter (a condition the connector writes, never user text) ANDed to the
// window.
type Query struct {
	Table  schema.Table
	Filter string
	// IDs, when set, restricts the query to one slice of the table's keys.
	IDs *IDRange
}

// IDRange is From ≤ id < Until; math.MinInt64 and math.MaxInt64 leave that side open.
type IDRange struct {
	From, Until int64
}

// Contains reports whether id is in the range.
func (r IDRange) Contains(id int64) bool { return id >= r.From && id < r.Until }

// BuildQuery renders q over w. Datetime bounds are written as wall times in the session
// zone loc, because NetSuite reads TO_TIMESTAMP literals in the session zone.
//
// The order is unique — (lastmodifieddate, id) — and the keyset is spelt out as
// "a > x OR (a = x AND b > y)" because Oracle has no row-value inequality. Every reference
// is qualified with the table name so that ORDER BY sorts on the stored instant and not on
// the TO_CHAR alias of the same name.
func BuildQuery(q Query, w Window, loc *time.Location) (string, error) {
	t := q.Table
	var b strings.Builder
	writeSelect(&b, t.Columns, func(schema.Column) string { return t.Name }, false)
	if err := writeWhere(&b, q, w, loc); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, " ORDER BY %s.%s, %s.%s", t.Name, t.Cursor, t.Name, t.PrimaryKey)
	return b.String(), nil
}

// IDBoundQuery selects the key of q's rows in w in key order (descending with last): its
// first row, read with limit 1, is the lowest (highest) id still to be read, which is
// where a pass can be cut into slices.
func IDBoundQuery(q Query, w Window, loc *time.Location, last bool) (string, error) {
	t := q.Table
	id := t.Name + "." + t.PrimaryKey
	var b strings.Builder
	b.WriteString("SELECT " + id)
	if err := writeWhere(&b, q, w, loc); err != nil {
		return "", err
	}
	b.WriteString(" ORDER BY " + id)
	if last {
		b.WriteString(" DESC")
	}
	return b.String(), nil
}

// writeWhere renders FROM and the conditions of q over w.
func writeWhere(b *strings.Builder, q Query, w Window, loc *time.Location) error {
	t := q.Table
	cursor := t.Name + "." + t.Cursor
	id := t.Name + "." + t.PrimaryKey
	fmt.Fprintf(b, " FROM %s WHERE ", t.Name)
	var conds []string
	if q.Filter != "" {
		conds = append(conds, q.Filter)
	}
	if r := q.IDs; r != nil {
		if r.Until <= r.From {
			return fmt.Errorf("empty id range [%d, %d) for %s", r.From, r.Until, t.Name)
		}
		if r.From != math.MinInt64 {
			conds = append(conds, fmt.Sprintf("%s >= %d", id, r.From))
		}
		if r.Until != math.MaxInt64 {
			conds = append(conds, fmt.Sprintf("%s < %d", id, r.Until))
		}
	}
	if !w.Lower.IsZero() {
		c, err := bound(cursor, ">=", ">", w.Lower, loc)
		if err != nil {
			return err
		}
		conds = append(conds, c)
	}
	if w.Upper.IsZero() {
		return fmt.Errorf("window for %s has no upper bound", t.Name)
	}
	c, err := bound(cursor, "<", "<=", w.Upper, loc)
	if err != nil {
		return err
	}
	conds = append(conds, c)
	if w.After != nil {
		// The cursor text came from NetSuite; accept it only in the exact shape we asked
		// for, so nothing but digits and separators can reach the query.
		if _, ok := schema.ParseDateTime(w.After.Cursor, time.UTC); !ok {
			return fmt.Errorf("keyset cursor %q is not YYYY-MM-DD HH:MM:SS", w.After.Cursor)
		}
		lit := timestampLiteral(w.After.Cursor)
		conds = append(conds, fmt.Sprintf("(%s > %s OR (%s = %s AND %s > %s))",
			cursor, lit, cursor, lit, id, strconv.FormatInt(w.After.ID, 10)))
	}
	b.WriteString(strings.Join(conds, " AND "))
	return nil
}

// bound renders "cursor op at" with a wall-time literal that names one instant only. The
// first instant of a repeated hour has an ambiguous wall time, but the second before it
// does not, so "≥ at" becomes "> at−1s" and "< at" becomes "≤ at−1s" (second precision).
func bound(cursor, op, opBefore string, at time.Time, loc *time.Location) (string, error) {
	at = at.Truncate(time.Second)
	if !ambiguous(at, loc) {
		return fmt.Sprintf("%s %s %s", cursor, op, timestampLiteral(at.In(loc).Format(schema.DateTimeLayout))), nil
	}
	if prev := at.Add(-time.Second); !ambiguous(prev, loc) {
		return fmt.Sprintf("%s %s %s", cursor, opBefore, timestampLiteral(prev.In(loc).Format(schema.DateTimeLayout))), nil
	}
	return "", fmt.Errorf("bound %s has an ambiguous wall time in %s", at.UTC().Format(time.RFC3339), loc)
}

// SelectQuery selects cols from table with no condition: a probe of which columns the
// table serves (with limit 1, it costs one row).
func SelectQuery(table string, cols []schema.Column) string {
	var b strings.Builder
	writeSelect(&b, cols, func(schema.Column) string { return table }, false)
	b.WriteString(" FROM " + table)
	return b.String()
}

// writeSelect renders "SELECT" and the columns NetSuite is asked for (derived ones are
// the connector's): dates and datetimes through TO_CHAR in the formats the typed
// conversion reads, everything else raw, qualified by tableOf and aliased to the output
// name when it differs from the field's (or always, with alias: a join's columns).
func writeSelect(b *strings.Builder, cols []schema.Column, tableOf func(schema.Column) string, alias bool) {
	b.WriteString("SELECT ")
	n := 0
	for _, c := range cols {
		if c.Derived {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		ref := tableOf(c) + "." + c.FieldID()
		switch c.Kind {
		case schema.DateTime:
			fmt.Fprintf(b, "TO_CHAR(%s, '%s') AS %s", ref, sqlDateTimeFormat, c.Name)
		case schema.Date:
			fmt.Fprintf(b, "TO_CHAR(%s, '%s') AS %s", ref, sqlDateFormat, c.Name)
		default:
			b.WriteString(ref)
			if alias || c.Name != c.FieldID() {
				b.WriteString(" AS " + c.Name)
			}
		}
	}
}

func timestampLiteral(wall string) string {
	return fmt.Sprintf("TO_TIMESTAMP('%s', '%s')", wall, sqlDateTimeFormat)
}
