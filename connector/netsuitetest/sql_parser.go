package netsuitetest

import (
	"fmt"
	"strconv"
	"strings"
)

// The AST of the SuiteQL subset. Parsing is purely syntactic; names and types
// are checked when the query is compiled against a table (eval.go).

type selectQuery struct {
	star  bool
	items []selectItem
	table string // lowercase name of the first table of FROM as written
	alias string // its alias, "" if none
	joins []joinClause
	where cond // nil when there is no WHERE
	order []orderKey
	binds int // number of ? placeholders
}

// tableRef is one table of the FROM clause.
type tableRef struct {
	name  string // lowercase table name
	alias string // "" if none
}

// from lists the tables of the FROM clause in order.
func (q *selectQuery) from() []tableRef {
	out := []tableRef{{name: q.table, alias: q.alias}}
	for _, j := range q.joins {
		out = append(out, j.right)
	}
	return out
}

// joinClause is "[INNER] JOIN t [alias] ON a = b [AND c = d …]" or its LEFT
// [OUTER] form. The fake supports equalities between two columns only.
type joinClause struct {
	right tableRef
	left  bool // LEFT [OUTER] JOIN
	on    []onEq
}

// onEq is one "column = column" of an ON condition.
type onEq struct{ l, r colRef }

type itemKind uint8

const (
	itemColumn itemKind = iota
	itemToChar
	itemSessionTZ
)

type selectItem struct {
	kind   itemKind
	col    colRef // itemColumn, itemToChar
	format string // itemToChar
	alias  string // lowercase, "" if none
}

type colRef struct {
	qual string // table name or alias qualifier, "" if none
	name string
}

func (c colRef) String() string {
	if c.qual != "" {
		return c.qual + "." + c.name
	}
	return c.name
}

type orderKey struct {
	ref      colRef      // column or select alias (when expr is nil and position is 0)
	expr     *selectItem // TO_CHAR(...) written in the ORDER BY itself
	position int         // ORDER BY 2 (1-based), 0 if not positional
	desc     bool
	nulls    nullsOrder
}

type nullsOrder uint8

const (
	nullsDefault nullsOrder = iota // Oracle: last for ASC, first for DESC
	nullsFirst
	nullsLast
)

// cond is a WHERE condition node.
type cond interface{ isCond() }

type condAnd struct{ terms []cond }
type condOr struct{ terms []cond }
type condNot struct{ x cond }
type condCmp struct {
	l, r operand
	op   string // = <> < <= > >= (!= is normalised to <>)
}
type condIsNull struct {
	x   operand
	not bool
}
type condBetween struct {
	x, lo, hi operand
	not       bool
}
type condIn struct {
	x    operand
	list []operand
	not  bool
}

func (condAnd) isCond()     {}
func (condOr) isCond()      {}
func (condNot) isCond()     {}
func (condCmp) isCond()     {}
func (condIsNull) isCond()  {}
func (condBetween) isCond() {}
func (condIn) isCond()      {}

type operandKind uint8

const (
	opColumn operandKind = iota
	opNumber
	opString
	opBind
	opNull
	opToTimestamp
	opToDate
)

type operand struct {
	kind operandKind
	col  colRef
	text string // number text or string value
	bind int    // 0-based bind index
	// TO_TIMESTAMP/TO_DATE arguments: each a string literal or a bind.
	arg, format *operand
}

// reserved words that cannot be a bare identifier (alias, column) in the
// positions where the parser would otherwise accept one.
var reserved = map[string]bool{
	"select": true, "from": true, "where": true, "order": true, "by": true, "group": true,
	"having": true, "union": true, "intersect": true, "minus": true, "join": true,
	"inner": true, "left": true, "right": true, "full": true, "outer": true, "cross": true,
	"on": true, "limit": true, "offset": true, "fetch": true, "and": true, "or": true,
	"not": true, "is": true, "null": true, "in": true, "between": true, "like": true,
	"as": true, "asc": true, "desc": true, "nulls": true, "top": true, "distinct": true,
	"with": true, "natural": true, "using": true, "connect": true, "start": true,
}

type parser struct {
	toks  []token
	pos   int
	binds int
}

// syntaxError is a rejected statement; its message becomes the detail of the
// 400 response after NetSuite's "Search error occurred:" prefix.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

func parseSuiteQL(src string) (*selectQuery, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, &syntaxError{msg: err.Error()}
	}
	p := &parser{toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	q.binds = p.binds
	return q, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expectKeyword(kw string) error {
	if !p.accept(kw) {
		return p.unexpected("expected " + strings.ToUpper(kw))
	}
	return nil
}

func (p *parser) expect(kind tokKind, what string) (token, error) {
	t := p.peek()
	if t.kind != kind {
		return t, p.unexpected("expected " + what)
	}
	return p.next(), nil
}

func (p *parser) unexpected(context string) error {
	t := p.peek()
	switch {
	case t.kind == tokOther && t.text == ";":
		return errorf("invalid character ';' at position %d (do not terminate the statement)", t.pos)
	case t.kind == tokOther && t.text == "||":
		return errorf("expressions such as '||' are not supported by this fake SuiteQL server (position %d)", t.pos)
	case t.kind == tokQuotedIdent:
		return errorf("quoted identifiers such as %s are not supported by this fake SuiteQL server", t.raw)
	}
	return errorf("syntax error at position %d near '%s': %s", t.pos, t.raw, context)
}

// rejectClause turns clauses SuiteQL (or this fake) does not accept into a
// clear message instead of a generic syntax error.
func (p *parser) rejectClause() error {
	t := p.peek()
	if t.kind != tokIdent {
		return nil
	}
	switch t.text {
	case "limit":
		return errorf("LIMIT is not supported in SuiteQL; page with the REST limit and offset query parameters")
	case "offset":
		return errorf("OFFSET clauses are not supported in SuiteQL; page with the REST limit and offset query parameters")
	case "fetch":
		return errorf("FETCH FIRST is not supported in SuiteQL; page with the REST limit and offset query parameters")
	case "join", "inner", "left", "right", "full", "cross", "natural":
		return errorf("a JOIN must follow the FROM table, before WHERE and ORDER BY (near '%s' at position %d)", t.raw, t.pos)
	case "group", "having":
		return errorf("GROUP BY/HAVING are not supported by this fake SuiteQL server")
	case "union", "intersect", "minus":
		return errorf("set operators (%s) are not supported by this fake SuiteQL server", strings.ToUpper(t.text))
	case "connect", "start":
		return errorf("hierarchical queries are not supported by this fake SuiteQL server")
	}
	return nil
}

func (p *parser) query() (*selectQuery, error) {
	q := &selectQuery{}
	if p.peek().is("with") {
		return nil, errorf("WITH clauses are not supported in SuiteQL")
	}
	if err := p.expectKeyword("select"); err != nil {
		return nil, err
	}
	switch {
	case p.peek().is("top"):
		return nil, errorf("TOP cannot be combined with REST paging; page with the limit and offset query parameters")
	case p.peek().is("distinct"), p.peek().is("unique"):
		return nil, errorf("DISTINCT is not supported by this fake SuiteQL server")
	}
	if p.peek().kind == tokStar {
		p.next()
		q.star = true
		if p.peek().kind == tokComma {
			return nil, errorf("SELECT * cannot be combined with other select items")
		}
	} else {
		for {
			it, err := p.selectItem()
			if err != nil {
				return nil, err
			}
			q.items = append(q.items, it)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if err := p.expectKeyword("from"); err != nil {
		return nil, err
	}
	if p.peek().kind == tokLParen {
		return nil, errorf("subqueries are not supported by this fake SuiteQL server")
	}
	tt := p.peek()
	if tt.kind != tokIdent || reserved[tt.text] {
		return nil, p.unexpected("expected a table name")
	}
	p.next()
	q.table = tt.text
	if p.peek().kind == tokDot {
		return nil, errorf("schema-qualified table names are not supported: %s.%s", tt.raw, p.peekAt(1).raw)
	}
	if p.peek().is("as") {
		return nil, errorf("AS is not allowed before a table alias (Oracle syntax: FROM %s alias)", tt.text)
	}
	q.alias = p.tableAlias()
	if p.peek().kind == tokComma {
		return nil, errorf("Oracle-style comma joins (FROM a, b WHERE a.x = b.y) are not supported by this fake SuiteQL server; write FROM a JOIN b ON a.x = b.y")
	}
	for {
		j, ok, err := p.joinClause()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		q.joins = append(q.joins, j)
	}
	if err := p.rejectClause(); err != nil {
		return nil, err
	}
	if p.accept("where") {
		c, err := p.orCond()
		if err != nil {
			return nil, err
		}
		q.where = c
	}
	if err := p.rejectClause(); err != nil {
		return nil, err
	}
	if p.accept("order") {
		if err := p.expectKeyword("by"); err != nil {
			return nil, err
		}
		for {
			k, err := p.orderKey()
			if err != nil {
				return nil, err
			}
			q.order = append(q.order, k)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if err := p.rejectClause(); err != nil {
		return nil, err
	}
	if p.peek().kind != tokEOF {
		return nil, p.unexpected("expected end of statement")
	}
	return q, nil
}

// tableAlias reads an optional table alias after a table name.
func (p *parser) tableAlias() string {
	if t := p.peek(); t.kind == tokIdent && !reserved[t.text] {
		p.next()
		return t.text
	}
	return ""
}

// joinClause parses one JOIN of the FROM clause; ok is false when the next
// token starts no join.
func (p *parser) joinClause() (joinClause, bool, error) {
	var j joinClause
	t := p.peek()
	switch {
	case t.is("join"):
		p.next()
	case t.is("inner"):
		p.next()
		if err := p.expectKeyword("join"); err != nil {
			return j, false, err
		}
	case t.is("left"):
		p.next()
		p.accept("outer")
		if err := p.expectKeyword("join"); err != nil {
			return j, false, err
		}
		j.left = true
	case t.is("right"), t.is("full"):
		return j, false, errorf("%s JOINs are not supported by this fake SuiteQL server; use [INNER] JOIN or LEFT [OUTER] JOIN", strings.ToUpper(t.text))
	case t.is("cross"), t.is("natural"):
		return j, false, errorf("%s JOINs are not supported by this fake SuiteQL server; use [INNER] JOIN or LEFT [OUTER] JOIN with ON", strings.ToUpper(t.text))
	case t.kind == tokComma:
		return j, false, errorf("Oracle-style comma joins (FROM a, b WHERE a.x = b.y) are not supported by this fake SuiteQL server; write FROM a JOIN b ON a.x = b.y")
	default:
		return j, false, nil
	}
	if p.peek().kind == tokLParen {
		return j, false, errorf("subqueries are not supported by this fake SuiteQL server")
	}
	tt := p.peek()
	if tt.kind != tokIdent || reserved[tt.text] {
		return j, false, p.unexpected("expected a table name after JOIN")
	}
	p.next()
	if p.peek().kind == tokDot {
		return j, false, errorf("schema-qualified table names are not supported: %s.%s", tt.raw, p.peekAt(1).raw)
	}
	if p.peek().is("as") {
		return j, false, errorf("AS is not allowed before a table alias (Oracle syntax: JOIN %s alias)", tt.text)
	}
	j.right = tableRef{name: tt.text, alias: p.tableAlias()}
	if p.peek().is("using") {
		return j, false, errorf("JOIN … USING is not supported by this fake SuiteQL server; write ON a.x = b.x")
	}
	if !p.accept("on") {
		return j, false, p.unexpected("expected ON after JOIN " + tt.text)
	}
	parens := 0
	for p.peek().kind == tokLParen {
		p.next()
		parens++
	}
	for {
		eq, err := p.onEquality()
		if err != nil {
			return j, false, err
		}
		j.on = append(j.on, eq)
		if !p.accept("and") {
			break
		}
	}
	for ; parens > 0; parens-- {
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return j, false, err
		}
	}
	if p.peek().is("or") {
		return j, false, errorf("ON conditions other than column = column, joined by AND, are not supported by this fake SuiteQL server (OR at position %d)", p.peek().pos)
	}
	return j, true, nil
}

// onEquality parses "column = column" inside ON.
func (p *parser) onEquality() (onEq, error) {
	side := func() (colRef, error) {
		t := p.peek()
		if t.kind != tokIdent || reserved[t.text] || t.is("to_char") || t.is("to_date") || t.is("to_timestamp") {
			return colRef{}, errorf("ON conditions other than column = column, joined by AND, are not supported by this fake SuiteQL server (near '%s' at position %d)", t.raw, t.pos)
		}
		return p.colRef()
	}
	l, err := side()
	if err != nil {
		return onEq{}, err
	}
	if t := p.peek(); t.kind != tokOp || t.text != "=" {
		return onEq{}, errorf("ON conditions other than column = column, joined by AND, are not supported by this fake SuiteQL server (near '%s' at position %d)", t.raw, t.pos)
	}
	p.next()
	r, err := side()
	if err != nil {
		return onEq{}, err
	}
	return onEq{l: l, r: r}, nil
}

func (p *parser) selectItem() (selectItem, error) {
	t := p.peek()
	var it selectItem
	switch {
	case t.kind == tokStar:
		return it, errorf("SELECT * cannot be combined with other select items")
	case t.kind == tokQuotedIdent:
		return it, p.unexpected("")
	case t.is("sessiontimezone") && p.peekAt(1).kind != tokLParen:
		p.next()
		it.kind = itemSessionTZ
	case t.is("to_char") && p.peekAt(1).kind == tokLParen:
		tc, err := p.toChar()
		if err != nil {
			return it, err
		}
		it = tc
	case t.kind == tokIdent && !reserved[t.text]:
		ref, err := p.colRef()
		if err != nil {
			return it, err
		}
		it.kind, it.col = itemColumn, ref
	default:
		if t.kind == tokNumber || t.kind == tokString {
			return it, errorf("literal select items are not supported by this fake SuiteQL server (near '%s')", t.raw)
		}
		return it, p.unexpected("expected a column")
	}
	switch nt := p.peek(); {
	case nt.is("as"):
		p.next()
		a := p.peek()
		if a.kind != tokIdent || reserved[a.text] {
			return it, p.unexpected("expected an alias after AS")
		}
		p.next()
		it.alias = a.text
	case nt.kind == tokIdent && !reserved[nt.text]:
		p.next()
		it.alias = nt.text
	case nt.kind == tokMinus || nt.kind == tokPlus || nt.kind == tokStar || nt.kind == tokOther:
		return it, errorf("expressions are not supported by this fake SuiteQL server (near '%s' at position %d)", nt.raw, nt.pos)
	}
	return it, nil
}

// toChar parses TO_CHAR(column, 'format'). The format is mandatory because the
// NLS default format of a NetSuite session is not something to rely on.
func (p *parser) toChar() (selectItem, error) {
	p.next() // to_char
	p.next() // (
	it := selectItem{kind: itemToChar}
	if p.peek().kind != tokIdent || reserved[p.peek().text] {
		return it, p.unexpected("TO_CHAR expects a column")
	}
	ref, err := p.colRef()
	if err != nil {
		return it, err
	}
	it.col = ref
	if p.peek().kind == tokRParen {
		return it, errorf("TO_CHAR(%s) needs an explicit format such as 'YYYY-MM-DD HH24:MI:SS'", ref)
	}
	if _, err := p.expect(tokComma, "','"); err != nil {
		return it, err
	}
	f, err := p.expect(tokString, "a format string literal")
	if err != nil {
		return it, err
	}
	it.format = f.text
	if p.peek().kind == tokComma {
		return it, errorf("TO_CHAR with an NLS parameter is not supported by this fake SuiteQL server")
	}
	if _, err := p.expect(tokRParen, "')'"); err != nil {
		return it, err
	}
	return it, nil
}

func (p *parser) colRef() (colRef, error) {
	t := p.next()
	if p.peek().kind == tokLParen {
		return colRef{}, errorf("function %s is not supported by this fake SuiteQL server", strings.ToUpper(t.raw))
	}
	if p.peek().kind != tokDot {
		return colRef{name: t.text}, nil
	}
	p.next()
	n := p.peek()
	switch {
	case n.kind == tokStar:
		return colRef{}, errorf("%s.* is not supported by this fake SuiteQL server; name the columns", t.raw)
	case n.kind != tokIdent:
		return colRef{}, p.unexpected("expected a column name after '.'")
	}
	p.next()
	if p.peek().kind == tokLParen {
		return colRef{}, errorf("function %s.%s is not supported by this fake SuiteQL server", strings.ToUpper(t.raw), strings.ToUpper(n.raw))
	}
	if p.peek().kind == tokDot {
		return colRef{}, errorf("multi-part identifiers such as %s.%s.%s are not supported", t.raw, n.raw, p.peekAt(1).raw)
	}
	return colRef{qual: t.text, name: n.text}, nil
}

func (p *parser) orderKey() (orderKey, error) {
	var k orderKey
	t := p.peek()
	switch {
	case t.kind == tokNumber:
		p.next()
		n, err := strconv.Atoi(t.text)
		if err != nil {
			return k, errorf("ORDER BY position %s is not an integer", t.raw)
		}
		k.position = n
	case t.is("to_char") && p.peekAt(1).kind == tokLParen:
		it, err := p.toChar()
		if err != nil {
			return k, err
		}
		k.expr = &it
	case t.kind == tokIdent && !reserved[t.text]:
		ref, err := p.colRef()
		if err != nil {
			return k, err
		}
		k.ref = ref
	default:
		return k, p.unexpected("expected an ORDER BY expression")
	}
	if p.accept("desc") {
		k.desc = true
	} else {
		p.accept("asc")
	}
	if p.accept("nulls") {
		switch {
		case p.accept("first"):
			k.nulls = nullsFirst
		case p.accept("last"):
			k.nulls = nullsLast
		default:
			return k, p.unexpected("expected FIRST or LAST after NULLS")
		}
	}
	return k, nil
}

func (p *parser) orCond() (cond, error) {
	first, err := p.andCond()
	if err != nil {
		return nil, err
	}
	terms := []cond{first}
	for p.accept("or") {
		c, err := p.andCond()
		if err != nil {
			return nil, err
		}
		terms = append(terms, c)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return condOr{terms: terms}, nil
}

func (p *parser) andCond() (cond, error) {
	first, err := p.notCond()
	if err != nil {
		return nil, err
	}
	terms := []cond{first}
	for p.accept("and") {
		c, err := p.notCond()
		if err != nil {
			return nil, err
		}
		terms = append(terms, c)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return condAnd{terms: terms}, nil
}

func (p *parser) notCond() (cond, error) {
	if p.accept("not") {
		c, err := p.notCond()
		if err != nil {
			return nil, err
		}
		return condNot{x: c}, nil
	}
	if p.peek().kind == tokLParen {
		if p.peekAt(1).is("select") {
			return nil, errorf("subqueries are not supported by this fake SuiteQL server")
		}
		p.next()
		c, err := p.orCond()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return c, nil
	}
	return p.predicate()
}

func (p *parser) predicate() (cond, error) {
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == tokOp:
		p.next()
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		op := t.text
		if op == "!=" {
			op = "<>"
		}
		return condCmp{l: left, op: op, r: right}, nil
	case t.kind == tokComma:
		return nil, errorf("row value comparisons such as (a, b) > (x, y) are not supported (Oracle has no row-value inequality); write a > x OR (a = x AND b > y)")
	case t.is("is"):
		p.next()
		not := p.accept("not")
		if err := p.expectKeyword("null"); err != nil {
			return nil, err
		}
		return condIsNull{x: left, not: not}, nil
	}
	not := p.accept("not")
	switch {
	case p.accept("between"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expectKeyword("and"); err != nil {
			return nil, err
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return condBetween{x: left, lo: lo, hi: hi, not: not}, nil
	case p.accept("in"):
		if _, err := p.expect(tokLParen, "'(' after IN"); err != nil {
			return nil, err
		}
		if p.peek().is("select") {
			return nil, errorf("subqueries are not supported by this fake SuiteQL server")
		}
		var list []operand
		for {
			v, err := p.operand()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		if len(list) > 1000 {
			return nil, errorf("maximum number of expressions in a list is 1000 (got %d)", len(list))
		}
		return condIn{x: left, list: list, not: not}, nil
	case p.peek().is("like"):
		return nil, errorf("LIKE is not supported by this fake SuiteQL server")
	}
	return nil, p.unexpected("expected a comparison operator, IS, BETWEEN or IN")
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == tokNumber:
		p.next()
		return operand{kind: opNumber, text: t.text}, nil
	case (t.kind == tokMinus || t.kind == tokPlus) && p.peekAt(1).kind == tokNumber:
		p.next()
		n := p.next()
		text := n.text
		if t.kind == tokMinus {
			text = "-" + text
		}
		return operand{kind: opNumber, text: text}, nil
	case t.kind == tokString:
		p.next()
		return operand{kind: opString, text: t.text}, nil
	case t.kind == tokBind:
		p.next()
		p.binds++
		return operand{kind: opBind, bind: p.binds - 1}, nil
	case t.is("null"):
		p.next()
		return operand{kind: opNull}, nil
	case (t.is("to_timestamp") || t.is("to_date")) && p.peekAt(1).kind == tokLParen:
		return p.toDatetime()
	case t.kind == tokLParen:
		if p.peekAt(1).is("select") {
			return operand{}, errorf("subqueries are not supported by this fake SuiteQL server")
		}
		return operand{}, errorf("parenthesised expressions are not supported by this fake SuiteQL server (position %d)", t.pos)
	case t.kind == tokIdent && !reserved[t.text]:
		ref, err := p.colRef()
		if err != nil {
			return operand{}, err
		}
		return operand{kind: opColumn, col: ref}, nil
	}
	return operand{}, p.unexpected("expected a column or a value")
}

// toDatetime parses TO_TIMESTAMP(text, fmt) / TO_DATE(text, fmt); each
// argument is a string literal or a bind.
func (p *parser) toDatetime() (operand, error) {
	fn := p.next()
	p.next() // (
	o := operand{kind: opToTimestamp}
	if fn.text == "to_date" {
		o.kind = opToDate
	}
	arg := func() (*operand, error) {
		switch t := p.peek(); t.kind {
		case tokString:
			p.next()
			return &operand{kind: opString, text: t.text}, nil
		case tokBind:
			p.next()
			p.binds++
			return &operand{kind: opBind, bind: p.binds - 1}, nil
		}
		return nil, p.unexpected(strings.ToUpper(fn.text) + " expects a string literal or ?")
	}
	var err error
	if o.arg, err = arg(); err != nil {
		return o, err
	}
	if p.peek().kind == tokRParen {
		return o, errorf("%s needs an explicit format such as 'YYYY-MM-DD HH24:MI:SS' (the session's NLS default is not fixed)", strings.ToUpper(fn.text))
	}
	if _, err := p.expect(tokComma, "','"); err != nil {
		return o, err
	}
	if o.format, err = arg(); err != nil {
		return o, err
	}
	if p.peek().kind == tokComma {
		return o, errorf("%s with an NLS parameter is not supported by this fake SuiteQL server", strings.ToUpper(fn.text))
	}
	if _, err := p.expect(tokRParen, "')'"); err != nil {
		return o, err
	}
	return o, nil
}
