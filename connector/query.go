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
//
// Tie is the value of the query's tie-breaker column (Query.Tie), for queries whose
// (cursor, id) is not unique. Empty means after every row with this cursor and id: the
// position of a query without a tie-breaker, which a query with one may resume from.
type Keyset struct {
	Cursor string
	ID     int64
	Tie    string
}

// After reports whether k comes strictly after o in (cursor, id, tie) order. Outside a
// repeated hour the cursor text is fixed-width, so text order is time order. Ties compare
// as bytes: Oracle's default (BINARY) order of the ASCII names they hold, assumed to be
// SuiteQL's too (not documented). Were it not, rows of one page that share a cursor and an
// id would fail the strict-order check of the page loudly.
func (k Keyset) After(o Keyset) bool {
	switch {
	case k.Cursor != o.Cursor:
		return k.Cursor > o.Cursor
	case k.ID != o.ID:
		return k.ID > o.ID
	default:
		return o.Tie != "" && k.Tie > o.Tie
	}
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
	// Tie names a text column of Table that breaks ties of (cursor, primary key) when
	// they are not unique (the deletions of several streams, whose ids can collide): it
	// is ordered on last and the keyset continues after Keyset.Tie. Empty for the rest.
	Tie string
}

// TieOf returns a row's tie-breaker value ("" for a query without one).
func (q Query) TieOf(row schema.RawRow) string {
	if q.Tie == "" {
		return ""
	}
	return row[q.Tie]
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
// The order is unique — (lastmodifieddate, id), then q.Tie if set — and the keyset is
// spelt out as "a > x OR (a = x AND b > y)" because Oracle has no row-value inequality.
// Every reference is qualified with the table name so that ORDER BY sorts on the stored
// instant and not on the TO_CHAR alias of the same name.
func BuildQuery(q Query, w Window, loc *time.Location) (string, error) {
	t := q.Table
	var b strings.Builder
	writeSelect(&b, t.Columns, func(schema.Column) string { return t.Name }, false)
	if err := writeWhere(&b, q, w, loc); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, " ORDER BY %s.%s, %s.%s", t.Name, t.Cursor, t.Name, t.PrimaryKey)
	if q.Tie != "" {
		fmt.Fprintf(&b, ", %s.%s", t.Name, q.Tie)
	}
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

// CountQuery asks for the first id of the whole table of q: with limit 1 it costs one
// row, and its totalResults counts what a first pass will read. It needs neither the
// session zone nor NetSuite's clock (it has no time bounds), so it can be sent while
// they are being read.
func CountQuery(q Query) string {
	t := q.Table
	id := t.Name + "." + t.PrimaryKey
	var b strings.Builder
	b.WriteString("SELECT " + id + " FROM " + t.Name)
	if q.Filter != "" {
		b.WriteString(" WHERE " + q.Filter)
	}
	b.WriteString(" ORDER BY " + id)
	return b.String()
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
		n := strconv.FormatInt(w.After.ID, 10)
		next := fmt.Sprintf("%s > %s", id, n)
		if q.Tie != "" && w.After.Tie != "" {
			tie, err := tieLiteral(w.After.Tie)
			if err != nil {
				return err
			}
			next = fmt.Sprintf("(%s OR (%s = %s AND %s.%s > %s))", next, id, n, t.Name, q.Tie, tie)
		}
		conds = append(conds, fmt.Sprintf("(%s > %s OR (%s = %s AND %s))", cursor, lit, cursor, lit, next))
	}
	b.WriteString(strings.Join(conds, " AND "))
	return nil
}

// tieLiteral quotes a tie-breaker value that came from NetSuite. Only names (letters,
// digits, underscores) are accepted, so nothing else can reach the query.
func tieLiteral(v string) (string, error) {
	for _, r := range v {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", fmt.Errorf("keyset tie-breaker %q is not a name", v)
		}
	}
	return "'" + v + "'", nil
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
