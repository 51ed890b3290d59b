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

// plan is a query compiled against one table (or DUAL).
type plan struct {
	table  *table // nil for DUAL
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
	names nameRules // rejected and unserved columns of the table
}

// bindValue is one entry of the request's "params".
type bindValue struct {
	null bool
	text string
}

// compile binds q to t. t is nil when the query reads FROM DUAL.
func compile(q *selectQuery, t *table, env compileEnv) (*plan, error) {
	if q.binds != len(env.binds) {
		return nil, errorf("the statement has %d bind placeholders (?) but %d params were supplied", q.binds, len(env.binds))
	}
	if t == nil {
		return compileDual(q)
	}
	p := &plan{table: t}
	c := &compiler{q: q, t: t, env: env}

	items := q.items
	if q.star {
		// SELECT * returns what the table serves: columns that fail validation
		// are left out; one that breaks the query still breaks it.
		for _, col := range t.cols {
			if !env.names.rejections[col.Name].invalidQuery() {
				items = append(items, selectItem{kind: itemColumn, col: colRef{name: col.Name}})
			}
		}
	}
	if err := c.checkNames(items); err != nil {
		return nil, err
	}
	exprN := 0
	seen := map[string]bool{}
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
		if seen[oi.key] {
			return nil, errorf("duplicate column name '%s' in the select list; alias one of them", oi.key)
		}
		seen[oi.key] = true
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
	p.unique = len(t.keyCols) > 0
	for _, k := range t.keyCols {
		if !keyCovered[k] {
			p.unique = false
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
	t      *table
	env    compileEnv
	broken bool // a column rejected with UnexpectedError is mentioned
}

// column resolves a column reference, honouring the table alias: with an
// alias only the alias may qualify, as in Oracle. checkNames has already
// rejected bad references; this repeats the check so nothing slips through.
func (c *compiler) column(ref colRef) (*colStore, int, error) {
	col, i, rej, mismatch := c.resolve(ref)
	switch {
	case rej == UnexpectedError && col != nil:
		c.broken = true
	case rej == UnexpectedError:
		return nil, -1, errUnexpected
	case rej != NoRejection:
		return nil, -1, c.nameError(badRef{ref: ref, rej: rej, mismatch: mismatch})
	}
	return col, i, nil
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
		return outItem{key: it.alias, kind: itemToChar, col: col, format: f}, nil
	default:
		col, _, err := c.column(it.col)
		if err != nil {
			return outItem{}, err
		}
		key := it.alias
		if key == "" {
			key = col.Name
		}
		return outItem{key: key, kind: itemColumn, col: col}, nil
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
	return sk, c.t.index[it.col.Name], nil
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
