package netsuitetest

import (
	"strconv"
	"time"
)

// This file binds a parsed query to a table: it resolves names (columns,
// select aliases, the table alias), numbers expression keys, checks types
// and builds the plan that eval.go's predicates and page.go's selection run.

// outItem is one key of every result item.
type outItem struct {
	key    string
	kind   itemKind
	col    *colStore
	idx    int      // itemColumn: the column's position among the query's columns; else -1
	format dtFormat // itemToChar
}

type sortKind uint8

const (
	sortInt sortKind = iota // integer, bool, date, datetime (instants)
	sortFloat
	sortText
	sortWall   // TO_CHAR whose text sorts like the truncated wall clock
	sortToChar // TO_CHAR of any other format: compare the rendered text
)

type sortKey struct {
	col        *colStore
	kind       sortKind
	unit       int64
	format     dtFormat
	desc       bool
	nullsFirst bool
	text       []string // sortToChar: rendered lazily per request
	have       []bool
}

// plan is a query compiled against its FROM clause (or DUAL).
type plan struct {
	// table holds the rows the plan runs over: the table itself, or for a
	// join the row set materialised for this request (joinSet). nil for DUAL.
	table  *table
	items  []outItem
	filter pred // nil: every row
	order  []sortKey
	unique bool // ORDER BY makes the order total; no random tie-break needed
}

// compileEnv carries what compilation needs besides the AST.
type compileEnv struct {
	zone  sessionZone
	now   time.Time // for Oracle's TO_DATE defaults (current year/month)
	binds []bindValue
	names nameRules // rejected and unserved columns of the table (single-table queries)
}

// bindValue is one entry of the request's "params".
type bindValue struct {
	null bool
	text string
}

// source is one table of the FROM clause as compilation sees it.
type source struct {
	name  string // the table's real (catalog) name, for errors and rejections
	alias string // "" if none
	t     *table
	rules nameRules
	base  int // position of its first column among the query's columns
}

// qual is the qualifier that names the source: its alias when it has one
// (then only the alias may qualify, as in Oracle), else its name.
func (s *source) qual() string {
	if s.alias != "" {
		return s.alias
	}
	return s.name
}

// compile binds q to t. t is nil when the query reads FROM DUAL.
func compile(q *selectQuery, t *table, env compileEnv) (*plan, error) {
	if q.binds != len(env.binds) {
		return nil, errorf("the statement has %d bind placeholders (?) but %d params were supplied", q.binds, len(env.binds))
	}
	if t == nil {
		return compileDual(q)
	}
	return compileFrom(q, []source{{name: q.table, alias: q.alias, t: t, rules: env.names}}, env)
}

// compileJoin binds a query with JOINs to its tables, one source per table
// of the FROM clause in order. It runs the join (join.go) for this request.
func compileJoin(q *selectQuery, srcs []source, env compileEnv) (*plan, error) {
	if q.binds != len(env.binds) {
		return nil, errorf("the statement has %d bind placeholders (?) but %d params were supplied", q.binds, len(env.binds))
	}
	return compileFrom(q, srcs, env)
}

func compileFrom(q *selectQuery, srcs []source, env compileEnv) (*plan, error) {
	base := 0
	for i := range srcs {
		srcs[i].base = base
		base += len(srcs[i].t.cols)
	}
	c := &compiler{q: q, srcs: srcs, env: env}
	if len(srcs) == 1 {
		c.rows = srcs[0].t
	}

	items := q.items
	if q.star {
		// SELECT * returns what the tables serve: columns that fail validation
		// are left out; one that breaks the query still breaks it. Over a join
		// each column is qualified by its table, so none is ambiguous.
		for i := range srcs {
			s := &srcs[i]
			for _, col := range s.t.cols {
				if s.rules.rejections[col.Name].invalidQuery() {
					continue
				}
				ref := colRef{name: col.Name}
				if len(srcs) > 1 {
					ref.qual = s.qual()
				}
				items = append(items, selectItem{kind: itemColumn, col: ref})
			}
		}
	}
	if err := c.checkNames(items); err != nil {
		return nil, err
	}
	if len(srcs) > 1 {
		if err := c.join(); err != nil {
			return nil, err
		}
	}
	p := &plan{table: c.rows}
	exprN := 0
	seen := map[string]string{}
	for _, it := range items {
		oi, err := c.outItem(it)
		if err != nil {
			return nil, err
		}
		if it.kind != itemColumn {
			exprN++
			if it.alias == "" {
				oi.key = "expr" + strconv.Itoa(exprN)
			}
		}
		if prev, dup := seen[oi.key]; dup {
			if q.star {
				return nil, errorf("SELECT * over this join returns two columns named '%s' (%s and %s); select the columns by name and alias one of them", oi.key, prev, it.col)
			}
			return nil, errorf("duplicate column name '%s' in the select list; alias one of them", oi.key)
		}
		seen[oi.key] = it.col.String()
		p.items = append(p.items, oi)
	}

	if q.where != nil {
		f, err := c.cond(q.where)
		if err != nil {
			return nil, err
		}
		p.filter = f
	}

	keyCovered := map[int]bool{}
	for _, k := range q.order {
		sk, colIdx, err := c.sortKey(k, items, p.items)
		if err != nil {
			return nil, err
		}
		if colIdx >= 0 {
			keyCovered[colIdx] = true
		}
		p.order = append(p.order, sk)
	}
	// The order is unique when it names the key columns of every table.
	p.unique = true
	for i := range srcs {
		if len(srcs[i].t.keyCols) == 0 {
			p.unique = false
		}
		for _, k := range srcs[i].t.keyCols {
			if !keyCovered[srcs[i].base+k] {
				p.unique = false
			}
		}
	}
	if c.broken {
		return nil, errUnexpected
	}
	return p, nil
}

// compileDual handles SELECT SESSIONTIMEZONE FROM DUAL, the only DUAL query
// the fake serves. NetSuite names the column expr1 whatever the alias.
func compileDual(q *selectQuery) (*plan, error) {
	if q.star {
		return nil, errorf("SELECT * FROM DUAL is not supported by this fake SuiteQL server; select SESSIONTIMEZONE")
	}
	if q.where != nil || len(q.order) > 0 {
		return nil, errorf("WHERE/ORDER BY on DUAL are not supported by this fake SuiteQL server")
	}
	p := &plan{unique: true}
	for i, it := range q.items {
		if it.kind != itemSessionTZ {
			if it.kind == itemColumn {
				return nil, unknownIdentifier(it.col.name, nil)
			}
			return nil, errorf("only SESSIONTIMEZONE can be selected FROM DUAL in this fake SuiteQL server")
		}
		p.items = append(p.items, outItem{key: "expr" + strconv.Itoa(i+1), kind: itemSessionTZ})
	}
	return p, nil
}

type compiler struct {
	q      *selectQuery
	srcs   []source
	rows   *table   // the rows the query runs over (see plan.table)
	js     *joinSet // the materialised join, nil for a single table
	env    compileEnv
	broken bool // a column rejected with UnexpectedError is mentioned
}

// allScope makes every table of the FROM clause visible to a reference.
const allScope = -1

// column resolves a column reference seen by the whole statement (select
// list, WHERE, ORDER BY) to the column store the plan reads and its position
// among the query's columns. checkNames has already rejected bad references;
// this repeats the check so nothing slips through.
func (c *compiler) column(ref colRef) (*colStore, int, error) {
	return c.columnIn(ref, allScope)
}

// columnIn is column for a reference that sees only the first scope tables
// (an ON condition), or all of them with allScope.
func (c *compiler) columnIn(ref colRef, scope int) (*colStore, int, error) {
	r := c.resolve(ref, scope)
	switch {
	case len(r.ambiguous) > 0:
		return nil, -1, c.nameError(badRef{ref: ref, src: -1, ambiguous: r.ambiguous, scope: scope})
	case r.rej == UnexpectedError && r.col != nil:
		c.broken = true
	case r.rej == UnexpectedError:
		return nil, -1, errUnexpected
	case r.rej != NoRejection || r.col == nil:
		return nil, -1, c.nameError(badRef{ref: ref, rej: r.rej, mismatch: r.mismatch, src: r.src, scope: scope})
	}
	return c.store(r.src, r.ci), c.srcs[r.src].base + r.ci, nil
}

// store is the column store the plan reads for column ci of source src: the
// table's own column, or the join's materialised copy.
func (c *compiler) store(src, ci int) *colStore {
	if c.js != nil {
		return c.js.column(src, ci)
	}
	return c.srcs[src].t.cols[ci]
}

func (c *compiler) outItem(it selectItem) (outItem, error) {
	switch it.kind {
	case itemSessionTZ:
		return outItem{}, errorf("SESSIONTIMEZONE can only be selected FROM DUAL in this fake SuiteQL server")
	case itemToChar:
		col, _, err := c.column(it.col)
		if err != nil {
			return outItem{}, err
		}
		switch col.Type {
		case TypeDate, TypeDatetime:
		case TypeInteger, TypeFloat:
			// Oracle: TO_CHAR(number, 'YYYY-…') has no such number format.
			return outItem{}, errorf("ORA-01481: invalid number format model: TO_CHAR(%s, '%s') on %s column '%s' (a datetime format needs a DATE or TIMESTAMP)", it.col, it.format, col.Type, col.Name)
		default:
			// Oracle: TO_CHAR(text, fmt) converts the text to a number first.
			return outItem{}, errorf("ORA-01722: invalid number: TO_CHAR(%s, '%s') on text column '%s' (a datetime format needs a DATE or TIMESTAMP)", it.col, it.format, col.Name)
		}
		f, err := parseDTFormat(it.format, useToChar)
		if err != nil {
			return outItem{}, &syntaxError{msg: err.Error()}
		}
		return outItem{key: it.alias, kind: itemToChar, col: col, idx: -1, format: f}, nil
	default:
		col, idx, err := c.column(it.col)
		if err != nil {
			return outItem{}, err
		}
		key := it.alias
		if key == "" {
			key = col.Name
		}
		return outItem{key: key, kind: itemColumn, col: col, idx: idx}, nil
	}
}

// sortKey resolves an ORDER BY key. Like Oracle, a bare name that matches a
// select-list alias sorts by that item, so TO_CHAR(x,...) AS x sorts by text.
// The returned column index is >= 0 when the key is a plain table column.
func (c *compiler) sortKey(k orderKey, items []selectItem, outs []outItem) (sortKey, int, error) {
	sk := sortKey{desc: k.desc, nullsFirst: k.desc}
	switch k.nulls {
	case nullsFirst:
		sk.nullsFirst = true
	case nullsLast:
		sk.nullsFirst = false
	}
	var it *outItem
	switch {
	case k.position != 0:
		if k.position < 1 || k.position > len(outs) {
			return sk, -1, errorf("ORDER BY item must be the number of a SELECT-list expression (got %d)", k.position)
		}
		it = &outs[k.position-1]
	case k.expr != nil:
		oi, err := c.outItem(*k.expr)
		if err != nil {
			return sk, -1, err
		}
		it = &oi
	case k.ref.qual == "":
		for i := range items {
			if items[i].alias == k.ref.name {
				it = &outs[i]
				break
			}
		}
	}
	if it == nil {
		col, idx, err := c.column(k.ref)
		if err != nil {
			return sk, -1, err
		}
		sk.col = col
		sk.kind = columnSortKind(col.Type)
		return sk, idx, nil
	}
	sk.col = it.col
	if it.kind == itemToChar {
		if unit, ok := it.format.wallPrecision(); ok {
			sk.kind, sk.unit = sortWall, unit
		} else {
			sk.kind, sk.format = sortToChar, it.format
		}
		return sk, -1, nil
	}
	sk.kind = columnSortKind(it.col.Type)
	return sk, it.idx, nil
}

func columnSortKind(t ColumnType) sortKind {
	switch t {
	case TypeFloat:
		return sortFloat
	case TypeText:
		return sortText
	}
	return sortInt
}
