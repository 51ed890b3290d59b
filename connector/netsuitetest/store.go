package netsuitetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Row is one record as tests see it. Values are nil, int64, float64, bool,
// string or time.Time (datetime: the instant in UTC; date: 00:00 UTC).
//
// A custom column has the Go type of its value type (see ValueTypes): notably
// a Multiple Select is []int64 (no ids is NULL), a Percent the number a user
// sees (50 for 50 %, whatever Options.PercentRendering says), a Time Of Day
// its text ("9:30 am").
type Row map[string]any

// cell is one typed value on its way into or out of a table.
type cell struct {
	null bool
	i    int64   // integer; bool (0/1); date/datetime: the instant (see colStore)
	f    float64 // float
	s    string  // text
	w    int64   // date/datetime: wall-clock seconds in the session zone
}

// colStore holds one column of a table. Storage is columnar so that a
// 250,000-row scan touches a few dense slices instead of boxed values, and so
// that every value is typed once at insert time rather than per request.
type colStore struct {
	Column
	fk     fieldKind   // custom field value type; fkNone for a standard column
	pct    percentMode // Percent: how it renders and compares
	msSep  string      // Multiple Select: the separator of the stored text
	valid  []bool
	ints   []int64   // integer, bool, date (instant of local midnight), datetime (unix seconds)
	floats []float64 // float
	strs   []string  // text
	// wall holds the session-zone wall clock of date/datetime values (for a
	// date: its 00:00 as if UTC). TO_CHAR sort keys and date rendering use it.
	wall []int64
}

func (c *colStore) appendCell(v cell) {
	c.valid = append(c.valid, !v.null)
	switch c.Type {
	case TypeFloat:
		c.floats = append(c.floats, v.f)
	case TypeText:
		c.strs = append(c.strs, v.s)
	case TypeDate, TypeDatetime:
		c.ints = append(c.ints, v.i)
		c.wall = append(c.wall, v.w)
	default:
		c.ints = append(c.ints, v.i)
	}
}

func (c *colStore) set(row int, v cell) {
	c.valid[row] = !v.null
	switch c.Type {
	case TypeFloat:
		c.floats[row] = v.f
	case TypeText:
		c.strs[row] = v.s
	case TypeDate, TypeDatetime:
		c.ints[row] = v.i
		c.wall[row] = v.w
	default:
		c.ints[row] = v.i
	}
}

func (c *colStore) get(row int) cell {
	if !c.valid[row] {
		return cell{null: true}
	}
	switch c.Type {
	case TypeFloat:
		return cell{f: c.floats[row]}
	case TypeText:
		return cell{s: c.strs[row]}
	case TypeDate, TypeDatetime:
		return cell{i: c.ints[row], w: c.wall[row]}
	default:
		return cell{i: c.ints[row]}
	}
}

// moveLast copies the last row into row and shrinks the column by one.
func (c *colStore) moveLast(row int) {
	last := len(c.valid) - 1
	c.valid[row] = c.valid[last]
	c.valid = c.valid[:last]
	switch c.Type {
	case TypeFloat:
		c.floats[row] = c.floats[last]
		c.floats = c.floats[:last]
	case TypeText:
		c.strs[row] = c.strs[last]
		c.strs[last] = ""
		c.strs = c.strs[:last]
	case TypeDate, TypeDatetime:
		c.ints[row], c.wall[row] = c.ints[last], c.wall[last]
		c.ints, c.wall = c.ints[:last], c.wall[:last]
	default:
		c.ints[row] = c.ints[last]
		c.ints = c.ints[:last]
	}
}

// allocate sizes an empty column for n rows, all NULL.
func (c *colStore) allocate(n int) {
	c.valid = make([]bool, n)
	switch c.Type {
	case TypeFloat:
		c.floats = make([]float64, n)
	case TypeText:
		c.strs = make([]string, n)
	case TypeDate, TypeDatetime:
		c.ints = make([]int64, n)
		c.wall = make([]int64, n)
	default:
		c.ints = make([]int64, n)
	}
}

// table is the data of one SuiteQL table.
type table struct {
	def   *tableDef
	cols  []*colStore
	index map[string]int // column name -> position in cols
	n     int
	// uid is a per-row internal identity used for random tie-breaking; it is
	// stable across updates so a row keeps its identity while it moves.
	uid     []uint64
	nextUID uint64
	idCol   int           // position of "id", -1 when the table has none
	byID    map[int64]int // id -> row position
	keyCols []int
}

func newTable(def *tableDef) *table {
	t := &table{def: def, byID: map[int64]int{}}
	for _, c := range def.cols {
		t.cols = append(t.cols, &colStore{Column: c})
	}
	t.reindex()
	return t
}

// reindex rebuilds the name index and key positions after columns change.
func (t *table) reindex() {
	t.index = make(map[string]int, len(t.cols))
	t.idCol = -1
	for i, c := range t.cols {
		t.index[c.Name] = i
		if c.Name == "id" {
			t.idCol = i
		}
	}
	t.keyCols = t.keyCols[:0]
	for _, k := range t.def.key {
		t.keyCols = append(t.keyCols, t.index[k])
	}
}

// addColumn appends a column in which every existing row is NULL.
func (t *table) addColumn(c *colStore) {
	c.allocate(t.n)
	t.cols = append(t.cols, c)
	t.reindex()
}

// removeColumn drops a column; it reports whether there was one.
func (t *table) removeColumn(name string) bool {
	i, ok := t.index[name]
	if !ok {
		return false
	}
	t.cols = slices.Delete(t.cols, i, i+1)
	t.reindex()
	return true
}

// grow reserves room for n more rows, so bulk generation does not spend its
// time copying slices as they double.
func (t *table) grow(n int) {
	for _, c := range t.cols {
		c.valid = slices.Grow(c.valid, n)
		switch c.Type {
		case TypeFloat:
			c.floats = slices.Grow(c.floats, n)
		case TypeText:
			c.strs = slices.Grow(c.strs, n)
		case TypeDate, TypeDatetime:
			c.ints = slices.Grow(c.ints, n)
			c.wall = slices.Grow(c.wall, n)
		default:
			c.ints = slices.Grow(c.ints, n)
		}
	}
	t.uid = slices.Grow(t.uid, n)
}

func (t *table) appendRow(cells []cell) int {
	for i, c := range t.cols {
		c.appendCell(cells[i])
	}
	t.nextUID++
	t.uid = append(t.uid, t.nextUID)
	row := t.n
	t.n++
	if t.idCol >= 0 && !cells[t.idCol].null {
		t.byID[cells[t.idCol].i] = row
	}
	return row
}

func (t *table) setRow(row int, cells []cell) {
	for i, c := range t.cols {
		c.set(row, cells[i])
	}
}

func (t *table) rowCells(row int) []cell {
	out := make([]cell, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.get(row)
	}
	return out
}

// removeRow deletes a row by moving the last row into its place; row order
// carries no meaning because every query sorts.
func (t *table) removeRow(row int) {
	last := t.n - 1
	if t.idCol >= 0 {
		if c := t.cols[t.idCol]; c.valid[row] {
			delete(t.byID, c.ints[row])
		}
		if row != last && t.cols[t.idCol].valid[last] {
			t.byID[t.cols[t.idCol].ints[last]] = row
		}
	}
	for _, c := range t.cols {
		c.moveLast(row)
	}
	t.uid[row] = t.uid[last]
	t.uid = t.uid[:last]
	t.n--
}

// findKey returns the row whose key columns equal those in cells, or -1.
func (t *table) findKey(cells []cell) int {
	if t.idCol >= 0 {
		if row, ok := t.byID[cells[t.idCol].i]; ok && !cells[t.idCol].null {
			return row
		}
		return -1
	}
	for row := 0; row < t.n; row++ {
		match := true
		for _, k := range t.keyCols {
			if !sameCell(t.cols[k].get(row), cells[k]) {
				match = false
				break
			}
		}
		if match {
			return row
		}
	}
	return -1
}

func sameCell(a, b cell) bool {
	return a.null == b.null && (a.null || (a.i == b.i && a.f == b.f && a.s == b.s))
}

// toRow converts a stored row to the public representation.
func (t *table) toRow(row int) Row {
	r := make(Row, len(t.cols))
	for _, c := range t.cols {
		r[c.Name] = cellValue(c, c.get(row))
	}
	return r
}

// cellValue is the Row value of a stored cell of column c.
func cellValue(c *colStore, v cell) any {
	if v.null {
		return nil
	}
	if c.fk == fkMultiSelect {
		ids, _ := parseIDList(v.s)
		return ids
	}
	switch c.Type {
	case TypeText:
		return v.s
	case TypeInteger:
		return v.i
	case TypeFloat:
		return v.f
	case TypeBool:
		return v.i != 0
	case TypeDate:
		return time.Unix(v.w, 0).UTC()
	case TypeDatetime:
		return time.Unix(v.i, 0).UTC()
	}
	return nil
}

// compareKeys orders rows by the table key (id, or deletedrecord's
// composite key) for Truth.
func (t *table) compareKeys(a, b int) int {
	for _, k := range t.keyCols {
		ca, cb := t.cols[k].get(a), t.cols[k].get(b)
		if c := cmpCells(t.cols[k].Type, ca, cb); c != 0 {
			return c
		}
	}
	return cmp.Compare(t.uid[a], t.uid[b])
}

func cmpCells(typ ColumnType, a, b cell) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return 1
	case b.null:
		return -1
	}
	switch typ {
	case TypeText:
		return strings.Compare(a.s, b.s)
	case TypeFloat:
		return cmp.Compare(a.f, b.f)
	default:
		return cmp.Compare(a.i, b.i)
	}
}

// toCell converts a Go or JSON value to a typed cell for column c.
// Empty text becomes NULL because Oracle stores an empty string as NULL.
func toCell(c *colStore, v any, z sessionZone) (cell, error) {
	if v == nil {
		return cell{null: true}, nil
	}
	if c.fk == fkMultiSelect {
		ids, err := asIDList(v)
		if err != nil {
			return cell{}, fmt.Errorf("column %s (Multiple Select): %w", c.Name, err)
		}
		if len(ids) == 0 {
			return cell{null: true}, nil
		}
		return cell{s: joinIDs(ids, c.msSep)}, nil
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		} else {
			return cell{}, fmt.Errorf("column %s: bad number %q", c.Name, n)
		}
	}
	switch c.Type {
	case TypeText:
		s, ok := v.(string)
		if !ok {
			return cell{}, fmt.Errorf("column %s (text): got %T", c.Name, v)
		}
		if s == "" {
			return cell{null: true}, nil
		}
		return cell{s: s}, nil
	case TypeInteger:
		i, ok := asInt64(v)
		if !ok {
			return cell{}, fmt.Errorf("column %s (integer): got %T %v", c.Name, v, v)
		}
		return cell{i: i}, nil
	case TypeFloat:
		f, ok := asFloat64(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return cell{}, fmt.Errorf("column %s (float): got %T %v", c.Name, v, v)
		}
		return cell{f: f}, nil
	case TypeBool:
		switch b := v.(type) {
		case bool:
			if b {
				return cell{i: 1}, nil
			}
			return cell{i: 0}, nil
		case string:
			if b == "T" || b == "F" {
				return toCell(c, b == "T", z)
			}
		}
		return cell{}, fmt.Errorf("column %s (bool): got %T %v", c.Name, v, v)
	case TypeDate:
		var y int
		var m time.Month
		var d int
		switch tv := v.(type) {
		case time.Time:
			y, m, d = tv.Date()
		case string:
			p, err := time.Parse(time.DateOnly, tv)
			if err != nil {
				return cell{}, fmt.Errorf("column %s (date): %w", c.Name, err)
			}
			y, m, d = p.Date()
		default:
			return cell{}, fmt.Errorf("column %s (date): got %T", c.Name, v)
		}
		return dateCell(y, m, d, z), nil
	case TypeDatetime:
		var t time.Time
		switch tv := v.(type) {
		case time.Time:
			t = tv
		case string:
			p, err := time.Parse(time.RFC3339Nano, tv)
			if err != nil {
				return cell{}, fmt.Errorf("column %s (datetime, RFC 3339 with offset): %w", c.Name, err)
			}
			t = p
		default:
			return cell{}, fmt.Errorf("column %s (datetime): got %T", c.Name, v)
		}
		return datetimeCell(t.Unix(), z), nil
	}
	return cell{}, fmt.Errorf("column %s: unknown type %q", c.Name, c.Type)
}

// dateCell stores a calendar date. Its comparable value is the instant the
// day begins in the session zone, so TO_DATE('2024-01-15','YYYY-MM-DD')
// (also resolved in the session zone) equals it exactly.
func dateCell(y int, m time.Month, d int, z sessionZone) cell {
	return cell{i: z.localMidnight(y, m, d), w: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()}
}

// datetimeCell stores an instant with second precision, like NetSuite.
func datetimeCell(sec int64, z sessionZone) cell {
	return cell{i: sec, w: z.wallOf(sec)}
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return int64(n), true
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

// asIDList reads a Multiple Select value: []int64, []int or a JSON array of
// integers ([]any of json.Number, from fixtures).
func asIDList(v any) ([]int64, error) {
	switch x := v.(type) {
	case []int64:
		return slices.Clone(x), nil
	case []int:
		out := make([]int64, len(x))
		for i, n := range x {
			out[i] = int64(n)
		}
		return out, nil
	case []any:
		out := make([]int64, len(x))
		for i, e := range x {
			if n, ok := e.(json.Number); ok {
				e = any(n.String())
				if i, err := n.Int64(); err == nil {
					e = i
				}
			}
			n, ok := asInt64(e)
			if !ok {
				return nil, fmt.Errorf("element %d: got %T %v, want an integer id", i, e, e)
			}
			out[i] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %T, want []int64", v)
}

func asFloat64(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	if i, ok := asInt64(v); ok {
		return float64(i), true
	}
	return 0, false
}

// rowToCells merges r into base (a full row of cells) using the catalog.
func (t *table) rowToCells(base []cell, r Row, z sessionZone) ([]cell, error) {
	for k, v := range r {
		ci, ok := t.index[strings.ToLower(k)]
		if !ok {
			return nil, fmt.Errorf("table %s has no column %q", t.def.name, k)
		}
		c, err := toCell(t.cols[ci], v, z)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.def.name, err)
		}
		base[ci] = c
	}
	return base, nil
}

// nullCellsInto is nullCells reusing buf.
func nullCellsInto(buf []cell, n int) []cell {
	buf = slices.Grow(buf[:0], n)[:n]
	for i := range buf {
		buf[i] = cell{null: true}
	}
	return buf
}

func nullCells(n int) []cell {
	out := make([]cell, n)
	for i := range out {
		out[i].null = true
	}
	return out
}

// sortedRows returns the row positions in key order.
func (t *table) sortedRows() []int {
	rows := make([]int, t.n)
	for i := range rows {
		rows[i] = i
	}
	slices.SortFunc(rows, t.compareKeys)
	return rows
}

// emptyView is a table with t's columns and no rows (what a role without
// permission to read a table's rows sees).
func (t *table) emptyView() *table {
	v := &table{def: t.def, byID: map[int64]int{}}
	for _, c := range t.cols {
		v.cols = append(v.cols, &colStore{Column: c.Column, fk: c.fk, pct: c.pct, msSep: c.msSep})
	}
	v.reindex()
	return v
}

// rowsWhere returns the positions, ascending, of the rows whose integer
// column name holds v.
func (t *table) rowsWhere(name string, v int64) []int {
	c := t.cols[t.index[name]]
	var out []int
	for r := 0; r < t.n; r++ {
		if c.valid[r] && c.ints[r] == v {
			out = append(out, r)
		}
	}
	return out
}

// firstWhere is the first row whose integer column name holds v, or -1.
func (t *table) firstWhere(name string, v int64) int {
	if name == "id" && t.idCol >= 0 {
		if r, ok := t.byID[v]; ok {
			return r
		}
		return -1
	}
	c := t.cols[t.index[name]]
	for r := 0; r < t.n; r++ {
		if c.valid[r] && c.ints[r] == v {
			return r
		}
	}
	return -1
}

// removeRows removes rows given in any order.
func (t *table) removeRows(rows []int) {
	rows = slices.Clone(rows)
	slices.Sort(rows)
	for i := len(rows) - 1; i >= 0; i-- {
		t.removeRow(rows[i])
	}
}

// cellAt and setCellAt read and write one column of a row by name; the
// column must exist.
func (t *table) cellAt(row int, name string) cell { return t.cols[t.index[name]].get(row) }

func (t *table) setCellAt(row int, name string, v cell) { t.cols[t.index[name]].set(row, v) }

// has reports whether the table has a column.
func (t *table) has(name string) bool {
	_, ok := t.index[name]
	return ok
}
