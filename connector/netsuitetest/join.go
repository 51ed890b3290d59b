package netsuitetest

import (
	"encoding/binary"
	"math"
)

// Joins are executed per request: the ON equalities are hash-joined table by
// table into a list of row tuples (one row position per table, -1 for the
// NULL side of a LEFT JOIN), and the columns the query mentions are gathered
// from those tuples into fresh column stores on first use. The plan then runs
// over that row set exactly as it runs over a single table (filter, bounded
// selection, random tie-breaks, the 100,000-row cap). Tables here hold tens of
// thousands of rows, so materialising is cheap and keeps one query engine.

// joinSet is the materialised result of a FROM clause with JOINs.
type joinSet struct {
	srcs []source
	rows [][]int32 // rows[s][i]: the row of source s in result row i, -1 = NULL
	n    int
	cols map[int]*colStore // by position among the query's columns
}

// column returns column ci of source src over the join's rows.
func (js *joinSet) column(src, ci int) *colStore {
	key := js.srcs[src].base + ci
	if c, ok := js.cols[key]; ok {
		return c
	}
	c := gather(js.srcs[src].t.cols[ci], js.rows[src])
	js.cols[key] = c
	return c
}

// gather copies the given rows of a column (-1: NULL) into a new column.
func gather(from *colStore, rows []int32) *colStore {
	c := &colStore{Column: from.Column, fk: from.fk, pct: from.pct, msSep: from.msSep}
	c.allocate(len(rows))
	valid := from.valid
	switch c.Type {
	case TypeFloat:
		for i, r := range rows {
			if r >= 0 && valid[r] {
				c.valid[i], c.floats[i] = true, from.floats[r]
			}
		}
	case TypeText:
		for i, r := range rows {
			if r >= 0 && valid[r] {
				c.valid[i], c.strs[i] = true, from.strs[r]
			}
		}
	case TypeDate, TypeDatetime:
		for i, r := range rows {
			if r >= 0 && valid[r] {
				c.valid[i], c.ints[i], c.wall[i] = true, from.ints[r], from.wall[r]
			}
		}
	default:
		for i, r := range rows {
			if r >= 0 && valid[r] {
				c.valid[i], c.ints[i] = true, from.ints[r]
			}
		}
	}
	return c
}

// joinSide is one column of an ON equality: its source and a reader.
type joinSide struct {
	src int
	get func(int) scalar
}

// join runs the JOINs of the statement. Names have been checked; the ON
// equalities are type-checked here. A query already known to fail with 500
// (a column rejected with UnexpectedError) joins nothing, but still compiles
// so that a 400 it deserves comes first.
func (c *compiler) join() error {
	first := c.srcs[0].t
	rows := [][]int32{make([]int32, first.n)}
	for i := range rows[0] {
		rows[0][i] = int32(i)
	}
	if c.broken {
		rows[0] = rows[0][:0]
	}
	n := len(rows[0])
	var key []byte
	for k, j := range c.q.joins {
		right := k + 1
		var lefts, rights []joinSide
		for _, eq := range j.on {
			a, b := c.resolve(eq.l, k+2), c.resolve(eq.r, k+2)
			if a.src == right {
				a, b = b, a
			}
			if a.src < 0 || b.src < 0 || a.col == nil || b.col == nil {
				// checkNames let it through only when the query is broken anyway.
				return errUnexpected
			}
			if b.src != right || a.src == right {
				return errorf("ON %s = %s: this fake SuiteQL server supports only equalities between a column of %s and a column of a table before it in FROM", eq.l, eq.r, c.srcs[right].qual())
			}
			if columnClass(a.col.Type) != columnClass(b.col.Type) {
				return errorf("inconsistent datatypes: cannot compare %s column '%s' with %s column '%s'", a.col.Type, a.col.Name, b.col.Type, b.col.Name)
			}
			lefts = append(lefts, joinSide{src: a.src, get: getter(a.col)})
			rights = append(rights, joinSide{src: right, get: getter(b.col)})
		}

		rt := c.srcs[right].t
		index := make(map[string][]int32, rt.n)
		if n > 0 {
			for r := 0; r < rt.n; r++ {
				var ok bool
				if key, ok = joinKey(key[:0], rights, func(int) int { return r }); ok {
					index[string(key)] = append(index[string(key)], int32(r))
				}
			}
		}

		next := make([][]int32, right+1)
		for s := range next {
			next[s] = make([]int32, 0, n)
		}
		emit := func(i int, r int32) {
			for s := 0; s < right; s++ {
				next[s] = append(next[s], rows[s][i])
			}
			next[right] = append(next[right], r)
		}
		for i := 0; i < n; i++ {
			var matches []int32
			var ok bool
			if key, ok = joinKey(key[:0], lefts, func(s int) int { return int(rows[s][i]) }); ok {
				matches = index[string(key)]
			}
			if len(matches) == 0 {
				if j.left {
					emit(i, -1)
				}
				continue
			}
			for _, m := range matches {
				emit(i, m)
			}
		}
		rows, n = next, len(next[0])
	}
	c.js = &joinSet{srcs: c.srcs, rows: rows, n: n, cols: map[int]*colStore{}}
	uid := make([]uint64, n)
	for i := range uid {
		uid[i] = uint64(i + 1)
	}
	c.rows = &table{n: n, uid: uid}
	return nil
}

// joinKey appends the encoded values of sides for one row (rowOf maps a
// source to its row position, -1 for NULL) and reports false when any is
// NULL: NULL equals nothing. Equal values of one class encode equally
// (5 and 5.0 alike; dates and datetimes as instants).
func joinKey(b []byte, sides []joinSide, rowOf func(src int) int) ([]byte, bool) {
	for _, sd := range sides {
		r := rowOf(sd.src)
		if r < 0 {
			return b, false
		}
		v := sd.get(r)
		if v.null {
			return b, false
		}
		switch v.cls {
		case clsText:
			b = binary.AppendUvarint(b, uint64(len(v.s)))
			b = append(b, v.s...)
		case clsTime:
			b = binary.AppendVarint(b, v.i)
		default:
			switch {
			case v.isInt:
				b = append(b, 'i')
				b = binary.AppendVarint(b, v.i)
			case v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<62:
				b = append(b, 'i')
				b = binary.AppendVarint(b, int64(v.f))
			default:
				b = append(b, 'f')
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.f))
			}
		}
	}
	return b, true
}
