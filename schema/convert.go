package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// RawRow is one SuiteQL item: lowercase keys, string values, a missing key meaning NULL.
type RawRow map[string]string

// Formats the connector asks NetSuite for with TO_CHAR; raw (unformatted) dates come back
// in the user's display preference and are never parsed.
const (
	DateTimeLayout = "2006-01-02 15:04:05"
	DateLayout     = "2006-01-02"
)

// ErrBadValue is wrapped by every ConversionError so callers can classify it as a data error.
var ErrBadValue = errors.New("value does not parse")

// ConversionError names the stream, row and column of a value that does not parse.
type ConversionError struct {
	Stream string
	ID     string // the row's raw id, "" when the id itself is missing
	Column string
	Kind   Kind
	Value  string
	Reason string
}

func (e *ConversionError) Error() string {
	id := e.ID
	if id == "" {
		id = "(missing)"
	}
	return fmt.Sprintf("stream %s, id %s, column %s: %s %q as %s: %s",
		e.Stream, id, e.Column, "cannot read", truncate(e.Value, 80), e.Kind, e.Reason)
}

func (e *ConversionError) Unwrap() error { return ErrBadValue }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// cell is one parsed value, held until the whole row has parsed.
type cell struct {
	valid bool
	i     int64
	f     float64
	b     bool
	s     string
	list  []int64 // IntegerList: reuses the column's buffer row after row
}

// Builder accumulates converted rows into an Arrow record batch. A row that fails to
// convert is not appended at all, so the batch never holds half a row.
type Builder struct {
	table   Table
	loc     *time.Location
	rb      *array.RecordBuilder
	scratch []cell
	lists   [][]int64 // per-column buffers for IntegerList cells
}

// NewBuilder returns a Builder for t. loc is the NetSuite session time zone that
// TO_CHAR-rendered datetimes are in; they are stored as UTC.
func NewBuilder(mem memory.Allocator, t Table, loc *time.Location) *Builder {
	if loc == nil {
		loc = time.UTC
	}
	return &Builder{
		table:   t,
		loc:     loc,
		rb:      array.NewRecordBuilder(mem, t.ArrowSchema()),
		scratch: make([]cell, len(t.Columns)),
		lists:   make([][]int64, len(t.Columns)),
	}
}

// Schema is the Arrow schema of the records this builder makes.
func (b *Builder) Schema() *arrow.Schema { return b.rb.Schema() }

// Len is the number of rows appended since the last NewRecord.
func (b *Builder) Len() int {
	if len(b.rb.Fields()) == 0 {
		return 0
	}
	return b.rb.Field(0).Len()
}

// Append converts and appends one row, or returns a *ConversionError and appends nothing.
// A datetime whose wall time occurs twice (the repeated hour when clocks go back) is read
// as the earlier instant.
func (b *Builder) Append(row RawRow) error { return b.AppendAt(row, time.Time{}) }

// AppendAt is Append for a row whose cursor instant is already known (resolved by the
// caller from the query's order). Datetimes showing the same wall time as the cursor take
// that instant, so a record created and last modified in the repeated hour stays
// consistent.
func (b *Builder) AppendAt(row RawRow, cursorAt time.Time) error {
	id := row[b.table.PrimaryKey]
	cursorWall, hasCursor := row[b.table.Cursor]
	for i, c := range b.table.Columns {
		raw, present := row[c.Name]
		b.scratch[i] = cell{}
		if !present {
			if b.table.IsKey(c.Name) {
				return &ConversionError{Stream: b.table.Name, ID: id, Column: c.Name, Kind: c.Kind, Reason: "a key column is missing"}
			}
			continue
		}
		if c.Kind == DateTime && !cursorAt.IsZero() && hasCursor && raw == cursorWall {
			b.scratch[i] = cell{valid: true, i: cursorAt.UnixMicro()}
			continue
		}
		b.scratch[i].list = b.lists[i][:0]
		if c.Derived && c.Kind == DateTime {
			// Set by the connector, not read from NetSuite: an RFC 3339 instant.
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return &ConversionError{Stream: b.table.Name, ID: id, Column: c.Name, Kind: c.Kind, Value: raw, Reason: "want an RFC 3339 instant"}
			}
			b.scratch[i] = cell{valid: true, i: t.UnixMicro()}
			continue
		}
		if err := parseCell(&b.scratch[i], c.Kind, raw, b.loc); err != "" {
			return &ConversionError{Stream: b.table.Name, ID: id, Column: c.Name, Kind: c.Kind, Value: raw, Reason: err}
		}
	}
	for i, c := range b.table.Columns {
		appendCell(b.rb.Field(i), c.Kind, &b.scratch[i])
		if c.Kind == IntegerList {
			b.lists[i] = b.scratch[i].list[:0]
		}
	}
	return nil
}

// NewRecord returns the rows appended so far as a record and resets the builder.
// The caller releases the record.
func (b *Builder) NewRecord() arrow.Record { return b.rb.NewRecord() }

// Release frees the builder's buffers.
func (b *Builder) Release() { b.rb.Release() }

func appendCell(fb array.Builder, k Kind, c *cell) {
	if !c.valid {
		fb.AppendNull()
		return
	}
	switch k {
	case Integer:
		fb.(*array.Int64Builder).Append(c.i)
	case Float, Percent:
		fb.(*array.Float64Builder).Append(c.f)
	case IntegerList:
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues(c.list, nil)
	case Bool:
		fb.(*array.BooleanBuilder).Append(c.b)
	case Date:
		fb.(*array.Date32Builder).Append(arrow.Date32(c.i))
	case DateTime:
		fb.(*array.TimestampBuilder).Append(arrow.Timestamp(c.i))
	default:
		fb.(*array.StringBuilder).Append(c.s)
	}
}

// parseCell fills c from raw and returns "" or the reason it does not parse.
func parseCell(c *cell, k Kind, raw string, loc *time.Location) string {
	switch k {
	case Integer:
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return "not a whole number"
		}
		c.i = v
	case Float:
		v, ok := ParseNumber(raw)
		if !ok {
			return "not a decimal number"
		}
		c.f = v
	case Percent:
		v, ok := ParseNumber(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(raw), "%")))
		if !ok {
			return "not a percentage"
		}
		c.f = v
	case IntegerList:
		list, ok := ParseIDList(raw, c.list)
		if !ok {
			return "want internal ids separated by commas"
		}
		c.list = list
	case Bool:
		switch raw {
		case "T", "t":
			c.b = true
		case "F", "f":
			c.b = false
		default:
			return "want T or F"
		}
	case Date:
		t, ok := ParseDate(raw)
		if !ok {
			return "want YYYY-MM-DD"
		}
		c.i = int64(arrow.Date32FromTime(t))
	case DateTime:
		t, ok := ParseDateTime(raw, loc)
		if !ok {
			return "want YYYY-MM-DD HH:MM:SS"
		}
		c.i = t.UnixMicro()
	default:
		if !utf8.ValidString(raw) {
			return "not valid UTF-8"
		}
		c.s = raw
	}
	c.valid = true
	return ""
}

// ParseNumber reads a number as Oracle renders it as text (".5", "-.25", "1E+21"), and
// refuses what strconv would also accept but NetSuite never sends (hex, NaN, Inf, "_").
func ParseNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXnN_iI") {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// ParseIDList appends to dst the internal ids of a Multiple Select value. NetSuite's
// rendering is not documented: ids separated by commas (with or without spaces),
// semicolons, whitespace or U+0005 (SuiteScript's multi-select separator) are accepted,
// and so are enclosing brackets. Anything else (display names, say) is refused.
func ParseIDList(s string, dst []int64) ([]int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	start := len(dst)
	for tok := range strings.FieldsFuncSeq(s, isIDSeparator) {
		v, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			return dst, false
		}
		dst = append(dst, v)
	}
	return dst, len(dst) > start
}

func isIDSeparator(r rune) bool {
	return r == ',' || r == ';' || r == '\u0005' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// ParseDate reads YYYY-MM-DD, rejecting out-of-range parts rather than normalising them.
func ParseDate(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// ParseDateTime reads "YYYY-MM-DD HH:MM:SS" as wall time in loc; a wall time that occurs
// twice is read as the earlier instant (see WallInstants).
func ParseDateTime(s string, loc *time.Location) (time.Time, bool) {
	first, _, ok := WallInstants(s, loc)
	return first, ok
}

// WallInstants returns the instants that show wall time s in loc: first == last except in
// the repeated hour when clocks go back, where they are the two occurrences. A wall time
// skipped when clocks go forward maps past the gap, as time.Date does.
func WallInstants(s string, loc *time.Location) (first, last time.Time, ok bool) {
	t, ok := parseWall(s, loc)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	first, last = t, t
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour} {
		if e := t.Add(-d); e.In(loc).Format(DateTimeLayout) == s && e.Before(first) {
			first = e
		}
		if l := t.Add(d); l.In(loc).Format(DateTimeLayout) == s && l.After(last) {
			last = l
		}
	}
	return first, last, true
}

func parseWall(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != len(DateTimeLayout) || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	day, ok := ParseDate(s[:10])
	if !ok {
		return time.Time{}, false
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(day.Year(), day.Month(), day.Day(), h, mi, sec, 0, loc), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func validDate(y, m, d int) bool {
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
