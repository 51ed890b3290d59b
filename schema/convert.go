package schema

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

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
	b     bool
	i     int64
	f     float64
	s     string
	list  []int64 // IntegerList: reuses the column's buffer row after row
}

// Builder accumulates converted rows into an Arrow record batch. A row that fails to
// convert is not appended at all, so the batch never holds half a row.
type Builder struct {
	table   Table
	loc     *time.Location
	rb      *array.RecordBuilder
	cols    []plan
	scratch []cell
	zone    zoneCache // zone spans of the datetimes parsed, see wallInstant
	// cursorCol is the index of the cursor column, -1 if none.
	cursorCol int
	rows      int // rows in the last record: the next one is reserved this size
	room      int // rows every builder can take without growing, see grow

	// AppendItemAt's view of the Items it was last given: per column the index of its
	// key (or −1 and the fixed value), and the current row's values by key index,
	// current where their generation is gen.
	items    *Items
	itemKey  []int
	itemFix  []fixedValue
	dense    []string
	denseGen []uint64
	gen      uint64
}

type fixedValue struct {
	value   string
	present bool
}

// rowSource is how AppendAt reads a row: a map, or one row of Items.
type rowSource interface {
	value(col int, name string) (string, bool)
}

type mapRow RawRow

func (m mapRow) value(_ int, name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// itemRow is the row AppendItemAt has spread into the builder's dense values.
type itemRow struct{ b *Builder }

func (r itemRow) value(col int, name string) (string, bool) {
	b := r.b
	if col < 0 {
		k := b.items.Index(name)
		if k < 0 || b.denseGen[k] != b.gen {
			return "", false
		}
		return b.dense[k], true
	}
	if k := b.itemKey[col]; k >= 0 {
		if b.denseGen[k] == b.gen {
			return b.dense[k], true
		}
		return "", false
	}
	f := b.itemFix[col]
	return f.value, f.present
}

// plan is one column compiled for AppendAt: its facts and its typed Arrow builder.
type plan struct {
	name    string
	kind    Kind
	key     bool // a key column: missing is an error
	derived bool // a derived datetime: RFC 3339
	i64     *array.Int64Builder
	f64     *array.Float64Builder
	bools   *array.BooleanBuilder
	dates   *array.Date32Builder
	stamps  *array.TimestampBuilder
	strs    *array.StringBuilder
	lists   *array.ListBuilder
	elems   *array.Int64Builder
	list    []int64 // IntegerList cell buffer, reused row after row
	bytes   int     // StringBuilder: data bytes of the last record
}

// NewBuilder returns a Builder for t. loc is the NetSuite session time zone that
// TO_CHAR-rendered datetimes are in; they are stored as UTC.
func NewBuilder(mem memory.Allocator, t Table, loc *time.Location) *Builder {
	if loc == nil {
		loc = time.UTC
	}
	b := &Builder{
		table:     t,
		loc:       loc,
		rb:        array.NewRecordBuilder(mem, t.ArrowSchema()),
		cols:      make([]plan, len(t.Columns)),
		scratch:   make([]cell, len(t.Columns)),
		cursorCol: -1,
	}
	for i, c := range t.Columns {
		p := plan{name: c.Name, kind: c.Kind, key: t.IsKey(c.Name), derived: c.Derived && c.Kind == DateTime}
		if c.Name == t.Cursor && t.Cursor != "" {
			b.cursorCol = i
		}
		switch fb := b.rb.Field(i).(type) {
		case *array.Int64Builder:
			p.i64 = fb
		case *array.Float64Builder:
			p.f64 = fb
		case *array.BooleanBuilder:
			p.bools = fb
		case *array.Date32Builder:
			p.dates = fb
		case *array.TimestampBuilder:
			p.stamps = fb
		case *array.StringBuilder:
			p.strs = fb
		case *array.ListBuilder:
			p.lists = fb
			p.elems = fb.ValueBuilder().(*array.Int64Builder)
		}
		b.cols[i] = p
	}
	return b
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
	return b.appendFrom(mapRow(row), cursorAt)
}

// AppendItemAt is AppendAt for row r of it; a column no row of it has takes its value
// from fixed (the connector's own columns, such as _deleted), else NULL.
func (b *Builder) AppendItemAt(it *Items, r int, cursorAt time.Time, fixed RawRow) error {
	if it != b.items {
		b.items = it
		b.itemKey = slices.Grow(b.itemKey[:0], len(b.cols))[:len(b.cols)]
		b.itemFix = slices.Grow(b.itemFix[:0], len(b.cols))[:len(b.cols)]
		for i := range b.cols {
			b.itemKey[i] = it.Index(b.cols[i].name)
			v, ok := fixed[b.cols[i].name]
			b.itemFix[i] = fixedValue{value: v, present: ok}
		}
		if len(b.dense) < len(it.Keys) {
			b.dense = make([]string, len(it.Keys))
			b.denseGen = make([]uint64, len(it.Keys))
			b.gen = 0
		}
	}
	b.gen++
	for _, c := range it.Row(r) {
		b.dense[c.Key], b.denseGen[c.Key] = c.Value, b.gen
	}
	return b.appendFrom(itemRow{b}, cursorAt)
}

func (b *Builder) appendFrom(row rowSource, cursorAt time.Time) error {
	// The cursor's text is needed before the loop reaches its column; it is looked up
	// once, and the id only for an error message.
	var cursorWall string
	var hasCursor, cursorPresent bool
	var cursorMicros int64
	if !cursorAt.IsZero() {
		cursorWall, cursorPresent = row.value(b.cursorCol, b.table.Cursor)
		hasCursor, cursorMicros = cursorPresent, cursorAt.UnixMicro()
	}
	for i := range b.cols {
		c := &b.cols[i]
		sc := &b.scratch[i]
		var raw string
		var present bool
		if i == b.cursorCol && !cursorAt.IsZero() {
			raw, present = cursorWall, cursorPresent
		} else {
			raw, present = row.value(i, c.name)
		}
		if !present {
			if c.key {
				return &ConversionError{Stream: b.table.Name, ID: b.idOf(row), Column: c.name, Kind: c.kind, Reason: "a key column is missing"}
			}
			sc.valid = false
			continue
		}
		if c.kind == DateTime {
			switch {
			case hasCursor && raw == cursorWall:
				sc.valid, sc.i = true, cursorMicros
				continue
			case c.derived:
				// Set by the connector, not read from NetSuite: an RFC 3339 instant.
				t, err := time.Parse(time.RFC3339Nano, raw)
				if err != nil {
					return &ConversionError{Stream: b.table.Name, ID: b.idOf(row), Column: c.name, Kind: c.kind, Value: raw, Reason: "want an RFC 3339 instant"}
				}
				sc.valid, sc.i = true, t.UnixMicro()
				continue
			}
		}
		if err := b.parseCell(sc, c, raw); err != "" {
			return &ConversionError{Stream: b.table.Name, ID: b.idOf(row), Column: c.name, Kind: c.kind, Value: raw, Reason: err}
		}
	}
	if b.room == 0 {
		b.grow()
	}
	b.room--
	for i := range b.cols {
		b.appendCell(&b.cols[i], &b.scratch[i])
	}
	return nil
}

// idOf returns a row's primary key as text, for an error message.
func (b *Builder) idOf(row rowSource) string {
	v, _ := row.value(slices.IndexFunc(b.cols, func(p plan) bool { return p.name == b.table.PrimaryKey }), b.table.PrimaryKey)
	return v
}

// grow makes room in every builder for the rows of a batch like the last one (at
// least 64) so that appendCell can append without checking capacity, and reserves the
// text of a new batch like the last one's: buffers then grow (and copy) once per batch
// at most rather than several times.
func (b *Builder) grow() {
	n := max(b.rows, 64)
	b.rb.Reserve(n)
	if b.Len() == 0 {
		for i := range b.cols {
			if c := &b.cols[i]; c.strs != nil && c.bytes > 0 {
				c.strs.ReserveData(c.bytes)
			}
		}
	}
	b.room = n
}

// NewRecord returns the rows appended so far as a record and resets the builder.
// The caller releases the record.
func (b *Builder) NewRecord() arrow.Record {
	b.rows, b.room = b.Len(), 0
	for i := range b.cols {
		if c := &b.cols[i]; c.strs != nil {
			c.bytes = c.strs.DataLen()
		}
	}
	// The record holds copies; what points into the page (its Items, the last row's
	// strings) must not keep a response body alive while the reader waits for the next.
	b.items = nil
	clear(b.dense)
	for i := range b.scratch {
		b.scratch[i].s = ""
	}
	return b.rb.NewRecord()
}

// Release frees the builder's buffers.
func (b *Builder) Release() { b.rb.Release() }

// appendCell appends v to column c's builder. AppendAt has made room for the row (see
// grow), so fixed-width values are appended without capacity checks.
func (b *Builder) appendCell(c *plan, v *cell) {
	if !v.valid {
		switch c.kind {
		case Integer:
			c.i64.UnsafeAppendBoolToBitmap(false)
		case Float, Percent:
			c.f64.UnsafeAppendBoolToBitmap(false)
		case IntegerList:
			c.lists.AppendNull()
		case Bool:
			c.bools.UnsafeAppendBoolToBitmap(false)
		case Date:
			c.dates.UnsafeAppendBoolToBitmap(false)
		case DateTime:
			c.stamps.UnsafeAppendBoolToBitmap(false)
		default:
			c.strs.AppendNull()
		}
		return
	}
	switch c.kind {
	case Integer:
		c.i64.UnsafeAppend(v.i)
	case Float, Percent:
		c.f64.UnsafeAppend(v.f)
	case IntegerList:
		c.lists.Append(true)
		c.elems.AppendValues(v.list, nil)
		c.list = v.list[:0]
	case Bool:
		c.bools.UnsafeAppend(v.b)
	case Date:
		c.dates.UnsafeAppend(arrow.Date32(v.i))
	case DateTime:
		c.stamps.UnsafeAppend(arrow.Timestamp(v.i))
	default:
		// The offsets have room; the text may not. ReserveData grows to exactly what it
		// is asked for, so ask for double. StringBuilder.Append would also convert the
		// string to a []byte first, which allocates for text longer than 32 bytes.
		if c.strs.DataCap()-c.strs.DataLen() < len(v.s) {
			c.strs.ReserveData(max(len(v.s), c.strs.DataCap()))
		}
		c.strs.UnsafeAppend(unsafe.Slice(unsafe.StringData(v.s), len(v.s)))
	}
}

// parseCell fills v from raw and returns "" or the reason it does not parse.
func (b *Builder) parseCell(v *cell, c *plan, raw string) string {
	switch c.kind {
	case Integer:
		n, ok := parseInt(raw)
		if !ok {
			return "not a whole number"
		}
		v.i = n
	case Float:
		f, ok := ParseNumber(raw)
		if !ok {
			return "not a decimal number"
		}
		v.f = f
	case Percent:
		f, ok := ParseNumber(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(raw), "%")))
		if !ok {
			return "not a percentage"
		}
		v.f = f
	case IntegerList:
		list, ok := ParseIDList(raw, c.list[:0])
		c.list = list[:0] // keep the grown buffer even if the row fails
		if !ok {
			return "want internal ids separated by commas"
		}
		v.list = list
	case Bool:
		switch raw {
		case "T", "t":
			v.b = true
		case "F", "f":
			v.b = false
		default:
			return "want T or F"
		}
	case Date:
		days, ok := parseDays(raw)
		if !ok {
			return "want YYYY-MM-DD"
		}
		v.i = days
	case DateTime:
		t, ok := b.zone.wallInstant(raw, b.loc)
		if !ok {
			return "want YYYY-MM-DD HH:MM:SS"
		}
		v.i = t * 1e6
	default:
		if !utf8.ValidString(raw) {
			return "not valid UTF-8"
		}
		v.s = raw
	}
	v.valid = true
	return ""
}

// parseInt is strconv.ParseInt(s, 10, 64) with a fast path for the short ids NetSuite
// sends: up to 18 digits cannot overflow.
func parseInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	i, neg := 0, false
	if s[0] == '-' || s[0] == '+' {
		if len(s) == 1 {
			return 0, false
		}
		neg, i = s[0] == '-', 1
	}
	var n int64
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	if neg {
		n = -n
	}
	return n, true
}

// ParseNumber reads a number as Oracle renders it as text (".5", "-.25", "1E+21"), and
// refuses what strconv would also accept but NetSuite never sends (hex, NaN, Inf, "_").
func ParseNumber(s string) (float64, bool) {
	if v, ok := parseDecimal(s); ok {
		return v, true
	}
	if s == "" || strings.ContainsAny(s, "xXnN_iI") {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// float64pow10 are the powers of ten a float64 holds exactly.
var float64pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal is strconv.ParseFloat's exact fast path for the plain decimals NetSuite
// sends ("1234.5", "-.25", "7"): at most 15 digits, no exponent. The digits make an
// integer below 2^53 and the divisor is an exact power of ten, so the one division is
// correctly rounded: the same float64 ParseFloat returns. ok is false for anything else,
// which the caller parses the general way.
func parseDecimal(s string) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	v := float64(m) / float64pow10[frac]
	if neg {
		v = -v
	}
	return v, true
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
	// Every separator is ASCII, so the text can be cut byte by byte: a byte of a
	// multi-byte character is never one, and stays in a token that then fails to parse.
	for i := 0; i < len(s); {
		if idSeparator[s[i]] {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && !idSeparator[s[j]] {
			j++
		}
		v, ok := parseInt(s[i:j])
		if !ok {
			return dst, false
		}
		dst = append(dst, v)
		i = j
	}
	return dst, len(dst) > start
}

var idSeparator = func() (t [256]bool) {
	for _, c := range []byte{',', ';', '\u0005', ' ', '\t', '\n', '\r'} {
		t[c] = true
	}
	return t
}()

// ParseDate reads YYYY-MM-DD, rejecting out-of-range parts rather than normalising them.
func ParseDate(s string) (time.Time, bool) {
	days, ok := parseDays(s)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(days*secondsPerDay, 0).UTC(), true
}

const secondsPerDay = 86400

// parseDays reads YYYY-MM-DD as days since 1970-01-01.
func parseDays(s string) (int64, bool) {
	if len(s) != len(DateLayout) || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (y ≥ 1), after Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
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
	if loc == nil {
		loc = time.UTC // as time.Date would panic on nil; callers always pass one
	}
	wall, ok := parseWallSeconds(s)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	z := sharedZones.Load()
	if z != nil && z.loc == loc {
		if t, ok := z.unique(wall); ok {
			t := time.Unix(t, 0).In(loc)
			return t, t, true
		}
	}
	first, last, ok = wallInstantsSlow(s, loc)
	if ok {
		next := &zoneCache{loc: loc}
		if z != nil && z.loc == loc {
			next.spans = slices.Clone(z.spans)
		}
		next.learn(first)
		sharedZones.Store(next)
	}
	return first, last, ok
}

// wallInstantsSlow is WallInstants by time.Date and a search of the two hours around it.
func wallInstantsSlow(s string, loc *time.Location) (first, last time.Time, ok bool) {
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

// searched is how far from time.Date's answer wallInstantsSlow looks for another
// instant showing the same wall time.
const searched = 2 * 3600

// zoneCache remembers spans of a location during which its UTC offset does not change,
// so that most wall times convert with arithmetic instead of time.Date and a search of
// the hours around it.
type zoneCache struct {
	loc   *time.Location
	spans []zoneSpan // sorted, disjoint
}

type zoneSpan struct {
	start, end int64 // unix seconds, [start, end); open ends are the int64 extremes
	offset     int64 // seconds east of UTC
}

// maxSpans bounds a zoneCache: half-year DST spans, so a century of dates.
const maxSpans = 256

// sharedZones is WallInstants' cache (Builders keep their own); it is replaced, never
// changed, so readers need no lock.
var sharedZones atomic.Pointer[zoneCache]

// unique returns the one instant that shows wall (seconds since the epoch of the wall
// time read as UTC) when the answer provably equals wallInstantsSlow's: the wall time
// read as UTC (where time.Date looks the offset up first), the instant and the searched
// hours around it are all in one span.
func (z *zoneCache) unique(wall int64) (int64, bool) {
	// The last span starting at or before wall (a plain binary search: this runs for
	// every datetime cell).
	lo, hi := 0, len(z.spans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if z.spans[m].start <= wall {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0, false
	}
	sp := &z.spans[lo-1]
	if wall >= sp.end {
		return 0, false
	}
	t := wall - sp.offset
	if t-searched >= sp.start && t+searched < sp.end {
		return t, true
	}
	return 0, false
}

// learn adds the span of t's zone.
func (z *zoneCache) learn(t time.Time) {
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	sp := zoneSpan{start: math.MinInt64, end: math.MaxInt64, offset: int64(off)}
	if !start.IsZero() {
		sp.start = start.Unix()
	}
	if !end.IsZero() {
		sp.end = end.Unix()
	}
	i, found := slices.BinarySearchFunc(z.spans, sp.start, func(s zoneSpan, x int64) int { return cmp.Compare(s.start, x) })
	switch {
	case found:
		return
	case len(z.spans) >= maxSpans:
		z.spans = append(z.spans[:0], sp)
	case i > 0 && z.spans[i-1].end > sp.start, i < len(z.spans) && z.spans[i].start < sp.end:
		return // overlapping: not expected of ZoneBounds, and not worth keeping
	default:
		z.spans = slices.Insert(z.spans, i, sp)
	}
}

// wallInstant is ParseDateTime as Unix seconds, with the Builder's zone cache.
func (z *zoneCache) wallInstant(s string, loc *time.Location) (int64, bool) {
	wall, ok := parseWallSeconds(s)
	if !ok {
		return 0, false
	}
	if z.loc != loc {
		*z = zoneCache{loc: loc}
	}
	if t, ok := z.unique(wall); ok {
		return t, true
	}
	first, _, ok := wallInstantsSlow(s, loc)
	if !ok {
		return 0, false
	}
	z.learn(first)
	return first.Unix(), true
}

// parseWallSeconds reads "YYYY-MM-DD HH:MM:SS" as seconds since the epoch, the wall time
// read as UTC.
func parseWallSeconds(s string) (int64, bool) {
	if len(s) != len(DateTimeLayout) || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	days, ok := parseDays(s[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	return days*secondsPerDay + int64(h*3600+mi*60+sec), true
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

var daysInMonth = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func validDate(y, m, d int) bool {
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	n := daysInMonth[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		n = 29
	}
	return d <= n
}
