package netsuitetest

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// WHERE evaluation: literals are coerced to the type of the column they
// meet (rejecting what Oracle rejects), and each predicate becomes a closure
// over the column slices that returns SQL's three-valued result.

// tri is SQL's three-valued logic.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func b2t(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

type pred func(row int) tri

type valClass uint8

const (
	clsNum valClass = iota
	clsText
	clsTime
)

// scalar is a typed value during evaluation.
type scalar struct {
	null  bool
	cls   valClass
	isInt bool    // clsNum: i holds the value exactly
	i     int64   // clsNum integer; clsTime: the instant (unix seconds)
	f     float64 // clsNum
	ns    int32   // clsTime: nanoseconds of a TO_TIMESTAMP literal
	s     string  // clsText
}

func compareScalars(a, b scalar) int {
	switch a.cls {
	case clsText:
		return strings.Compare(a.s, b.s)
	case clsTime:
		if c := cmp.Compare(a.i, b.i); c != 0 {
			return c
		}
		return cmp.Compare(a.ns, b.ns)
	}
	if a.isInt && b.isInt {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.f, b.f)
}

func opTest(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0 // ">="
}

var flipOp = map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// literal is an operand that does not depend on the row: its raw form before
// it is coerced to the class of what it is compared with.
type literal struct {
	null    bool
	isText  bool   // string literal or bind
	isNum   bool   // numeric literal
	isTime  bool   // TO_DATE / TO_TIMESTAMP
	text    string // text or number source
	timeVal scalar
	desc    string // for messages
}

func (c *compiler) literal(o operand) (literal, error) {
	switch o.kind {
	case opNull:
		return literal{null: true, desc: "NULL"}, nil
	case opNumber:
		return literal{isNum: true, text: o.text, desc: o.text}, nil
	case opString:
		// Oracle stores and compares '' as NULL.
		return literal{isText: true, null: o.text == "", text: o.text, desc: "'" + o.text + "'"}, nil
	case opBind:
		b := c.env.binds[o.bind]
		return literal{isText: true, null: b.null || b.text == "", text: b.text, desc: fmt.Sprintf("bind #%d", o.bind+1)}, nil
	case opToTimestamp, opToDate:
		return c.datetimeLiteral(o)
	}
	return literal{}, errorf("internal: operand is not a literal")
}

func (c *compiler) datetimeLiteral(o operand) (literal, error) {
	fn, use := "TO_TIMESTAMP", useToTimestamp
	if o.kind == opToDate {
		fn, use = "TO_DATE", useToDate
	}
	arg, err := c.literal(*o.arg)
	if err != nil {
		return literal{}, err
	}
	fl, err := c.literal(*o.format)
	if err != nil {
		return literal{}, err
	}
	if fl.null {
		return literal{}, errorf("%s format must not be empty", fn)
	}
	f, err := parseDTFormat(fl.text, use)
	if err != nil {
		return literal{}, &syntaxError{msg: err.Error()}
	}
	desc := fmt.Sprintf("%s(%s, '%s')", fn, arg.desc, fl.text)
	if arg.null {
		return literal{isTime: true, null: true, desc: desc}, nil
	}
	w, err := f.parse(arg.text, c.env.now.In(c.env.zone.loc))
	if err != nil {
		return literal{}, &syntaxError{msg: fmt.Sprintf("%s: %v", fn, err)}
	}
	inst := c.env.zone.resolve(w.sec)
	return literal{isTime: true, timeVal: scalar{cls: clsTime, i: inst, ns: w.nsec}, desc: desc}, nil
}

// coerce converts a literal to the class it is compared with, rejecting the
// combinations NetSuite rejects (notably plain strings against dates).
func coerce(l literal, to valClass, against string) (scalar, error) {
	if l.null {
		return scalar{null: true, cls: to}, nil
	}
	switch to {
	case clsTime:
		if !l.isTime {
			return scalar{}, errorf("%s is a date/datetime and must be compared with TO_DATE(...) or TO_TIMESTAMP(...), not %s", against, l.desc)
		}
		return l.timeVal, nil
	case clsNum:
		if l.isTime {
			return scalar{}, errorf("inconsistent datatypes: expected NUMBER got TIMESTAMP (%s vs %s)", against, l.desc)
		}
		return parseNumber(l.text, l.desc)
	default: // clsText
		if !l.isText {
			return scalar{}, errorf("inconsistent datatypes: %s is text; compare it with a string literal, not %s", against, l.desc)
		}
		return scalar{cls: clsText, s: l.text}, nil
	}
}

// parseNumber converts a numeric literal or numeric string like Oracle's
// implicit TO_NUMBER; anything else is ORA-01722.
func parseNumber(text, desc string) (scalar, error) {
	s := strings.TrimSpace(text)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return scalar{cls: clsNum, isInt: true, i: i, f: float64(i)}, nil
	}
	valid := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E')
	}) < 0
	f, err := strconv.ParseFloat(s, 64)
	if !valid || err != nil {
		return scalar{}, errorf("invalid number: %s", desc)
	}
	return scalar{cls: clsNum, f: f}, nil
}

func columnClass(t ColumnType) valClass {
	switch t {
	case TypeInteger, TypeFloat:
		return clsNum
	case TypeDate, TypeDatetime:
		return clsTime
	}
	return clsText // text, and bool which SuiteQL exposes as 'T'/'F'
}

// getter reads a column of a row as a scalar (the generic, slower path).
func getter(col *colStore) func(int) scalar {
	valid := col.valid
	switch col.Type {
	case TypeInteger:
		v := col.ints
		return func(r int) scalar {
			return scalar{null: !valid[r], cls: clsNum, isInt: true, i: v[r], f: float64(v[r])}
		}
	case TypeFloat:
		v := col.floats
		if col.pct == pctFraction {
			return func(r int) scalar { return scalar{null: !valid[r], cls: clsNum, f: v[r] / 100} }
		}
		return func(r int) scalar { return scalar{null: !valid[r], cls: clsNum, f: v[r]} }
	case TypeBool:
		v := col.ints
		return func(r int) scalar {
			s := "F"
			if v[r] != 0 {
				s = "T"
			}
			return scalar{null: !valid[r], cls: clsText, s: s}
		}
	case TypeText:
		v := col.strs
		return func(r int) scalar { return scalar{null: !valid[r], cls: clsText, s: v[r]} }
	}
	v := col.ints
	return func(r int) scalar { return scalar{null: !valid[r], cls: clsTime, i: v[r]} }
}

func (c *compiler) cond(n cond) (pred, error) {
	switch x := n.(type) {
	case condAnd:
		ps, err := c.conds(x.terms)
		if err != nil {
			return nil, err
		}
		return andPred(ps), nil
	case condOr:
		ps, err := c.conds(x.terms)
		if err != nil {
			return nil, err
		}
		return orPred(ps), nil
	case condNot:
		p, err := c.cond(x.x)
		if err != nil {
			return nil, err
		}
		return func(r int) tri {
			switch p(r) {
			case triTrue:
				return triFalse
			case triFalse:
				return triTrue
			}
			return triUnknown
		}, nil
	case condCmp:
		return c.compare(x.l, x.op, x.r)
	case condIsNull:
		return c.isNull(x)
	case condBetween:
		lo, err := c.compare(x.x, ">=", x.lo)
		if err != nil {
			return nil, err
		}
		hi, err := c.compare(x.x, "<=", x.hi)
		if err != nil {
			return nil, err
		}
		p := andPred([]pred{lo, hi})
		if x.not {
			return c.cond(condNot{x: predCond{p}})
		}
		return p, nil
	case condIn:
		p, err := c.in(x)
		if err != nil {
			return nil, err
		}
		if x.not {
			return c.cond(condNot{x: predCond{p}})
		}
		return p, nil
	case predCond:
		return x.p, nil
	}
	return nil, errorf("internal: unknown condition %T", n)
}

// predCond wraps an already compiled predicate so NOT can be reused.
type predCond struct{ p pred }

func (predCond) isCond() {}

func (c *compiler) conds(terms []cond) ([]pred, error) {
	ps := make([]pred, len(terms))
	for i, t := range terms {
		p, err := c.cond(t)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

func andPred(ps []pred) pred {
	if len(ps) == 2 {
		a, b := ps[0], ps[1]
		return func(r int) tri {
			x := a(r)
			if x == triFalse {
				return triFalse
			}
			y := b(r)
			if y == triFalse {
				return triFalse
			}
			if x == triUnknown || y == triUnknown {
				return triUnknown
			}
			return triTrue
		}
	}
	return func(r int) tri {
		res := triTrue
		for _, p := range ps {
			switch p(r) {
			case triFalse:
				return triFalse
			case triUnknown:
				res = triUnknown
			}
		}
		return res
	}
}

func orPred(ps []pred) pred {
	if len(ps) == 2 {
		a, b := ps[0], ps[1]
		return func(r int) tri {
			x := a(r)
			if x == triTrue {
				return triTrue
			}
			y := b(r)
			if y == triTrue {
				return triTrue
			}
			if x == triUnknown || y == triUnknown {
				return triUnknown
			}
			return triFalse
		}
	}
	return func(r int) tri {
		res := triFalse
		for _, p := range ps {
			switch p(r) {
			case triTrue:
				return triTrue
			case triUnknown:
				res = triUnknown
			}
		}
		return res
	}
}

func constPred(v tri) pred { return func(int) tri { return v } }

func (c *compiler) isNull(x condIsNull) (pred, error) {
	want := !x.not // IS NULL → true when null
	if x.x.kind == opColumn {
		col, _, err := c.column(x.x.col)
		if err != nil {
			return nil, err
		}
		valid := col.valid
		return func(r int) tri { return b2t(!valid[r] == want) }, nil
	}
	l, err := c.literal(x.x)
	if err != nil {
		return nil, err
	}
	return constPred(b2t(l.null == want)), nil
}

// compare compiles l op r. Column-vs-literal comparisons on integer, date,
// datetime, float and text columns get specialised closures because they are
// what keyset queries evaluate for every row.
func (c *compiler) compare(l operand, op string, r operand) (pred, error) {
	if l.kind != opColumn && r.kind == opColumn {
		l, r, op = r, l, flipOp[op]
	}
	if l.kind != opColumn {
		return c.compareConstants(l, op, r)
	}
	lc, _, err := c.column(l.col)
	if err != nil {
		return nil, err
	}
	cls := columnClass(lc.Type)
	if r.kind == opColumn {
		rc, _, err := c.column(r.col)
		if err != nil {
			return nil, err
		}
		if rcls := columnClass(rc.Type); rcls != cls {
			return nil, errorf("inconsistent datatypes: cannot compare %s column '%s' with %s column '%s'", lc.Type, lc.Name, rc.Type, rc.Name)
		}
		gl, gr := getter(lc), getter(rc)
		return func(row int) tri {
			a, b := gl(row), gr(row)
			if a.null || b.null {
				return triUnknown
			}
			return b2t(opTest(op, compareScalars(a, b)))
		}, nil
	}
	lit, err := c.literal(r)
	if err != nil {
		return nil, err
	}
	v, err := coerce(lit, cls, fmt.Sprintf("column '%s' (%s)", lc.Name, lc.Type))
	if err != nil {
		return nil, err
	}
	if v.null {
		return constPred(triUnknown), nil
	}
	switch {
	case lc.Type == TypeInteger && v.cls == clsNum:
		n, frac := numFloor(v)
		return intColumnPred(lc, op, n, frac), nil
	case (lc.Type == TypeDate || lc.Type == TypeDatetime) && v.cls == clsTime:
		return intColumnPred(lc, op, v.i, v.ns > 0), nil
	case lc.Type == TypeFloat:
		return floatColumnPred(lc, op, v.f), nil
	case lc.Type == TypeText:
		return textColumnPred(lc, op, v.s), nil
	}
	g := getter(lc)
	return func(row int) tri {
		a := g(row)
		if a.null {
			return triUnknown
		}
		return b2t(opTest(op, compareScalars(a, v)))
	}, nil
}

// numFloor splits a number into floor and whether it had a fraction, the
// form intColumnPred needs to compare integers with decimals exactly.
func numFloor(v scalar) (int64, bool) {
	if v.isInt {
		return v.i, false
	}
	f := math.Floor(v.f)
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f < math.MinInt64:
		return math.MinInt64, true
	}
	return int64(f), f != v.f
}

// intColumnPred compares an int64 column with v, or with a value just above
// v when frac is set (v+ε: a decimal's floor, or a timestamp with fractional
// seconds). Over integers, x > v+ε ⇔ x > v and x < v+ε ⇔ x <= v.
func intColumnPred(col *colStore, op string, v int64, frac bool) pred {
	valid, vals := col.valid, col.ints
	if frac {
		switch op {
		case "=":
			return func(r int) tri { return nullOr(valid[r], triFalse) }
		case "<>":
			return func(r int) tri { return nullOr(valid[r], triTrue) }
		case ">", ">=":
			op = ">"
		default: // < <=
			op = "<="
		}
	}
	switch op {
	case "=":
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			return b2t(vals[r] == v)
		}
	case "<>":
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			return b2t(vals[r] != v)
		}
	case "<":
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			return b2t(vals[r] < v)
		}
	case "<=":
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			return b2t(vals[r] <= v)
		}
	case ">":
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			return b2t(vals[r] > v)
		}
	}
	return func(r int) tri {
		if !valid[r] {
			return triUnknown
		}
		return b2t(vals[r] >= v)
	}
}

func nullOr(valid bool, v tri) tri {
	if !valid {
		return triUnknown
	}
	return v
}

func floatColumnPred(col *colStore, op string, v float64) pred {
	valid, vals := col.valid, col.floats
	if col.pct == pctFraction {
		// A Percent served as a fraction compares as the fraction it shows.
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			return b2t(opTest(op, cmp.Compare(vals[r]/100, v)))
		}
	}
	return func(r int) tri {
		if !valid[r] {
			return triUnknown
		}
		return b2t(opTest(op, cmp.Compare(vals[r], v)))
	}
}

func textColumnPred(col *colStore, op string, v string) pred {
	valid, vals := col.valid, col.strs
	return func(r int) tri {
		if !valid[r] {
			return triUnknown
		}
		return b2t(opTest(op, strings.Compare(vals[r], v)))
	}
}

// compareConstants evaluates literal-vs-literal comparisons such as the
// "WHERE 1=1" some connectors start with.
func (c *compiler) compareConstants(l operand, op string, r operand) (pred, error) {
	a, err := c.literal(l)
	if err != nil {
		return nil, err
	}
	b, err := c.literal(r)
	if err != nil {
		return nil, err
	}
	cls := clsText
	switch {
	case a.isTime || b.isTime:
		cls = clsTime
	case a.isNum || b.isNum:
		cls = clsNum
	}
	x, err := coerce(a, cls, b.desc)
	if err != nil {
		return nil, err
	}
	y, err := coerce(b, cls, a.desc)
	if err != nil {
		return nil, err
	}
	if x.null || y.null {
		return constPred(triUnknown), nil
	}
	return constPred(b2t(opTest(op, compareScalars(x, y)))), nil
}

func (c *compiler) in(x condIn) (pred, error) {
	if x.x.kind != opColumn {
		return nil, errorf("IN needs a column on its left in this fake SuiteQL server")
	}
	col, _, err := c.column(x.x.col)
	if err != nil {
		return nil, err
	}
	cls := columnClass(col.Type)
	hasNull := false
	var vals []scalar
	for _, o := range x.list {
		if o.kind == opColumn {
			return nil, errorf("IN lists of columns are not supported by this fake SuiteQL server")
		}
		lit, err := c.literal(o)
		if err != nil {
			return nil, err
		}
		v, err := coerce(lit, cls, fmt.Sprintf("column '%s' (%s)", col.Name, col.Type))
		if err != nil {
			return nil, err
		}
		if v.null {
			hasNull = true
			continue
		}
		vals = append(vals, v)
	}
	miss := b2t(false)
	if hasNull {
		miss = triUnknown
	}
	valid := col.valid
	switch col.Type {
	case TypeInteger, TypeDate, TypeDatetime:
		set := map[int64]bool{}
		for _, v := range vals {
			if n, frac := numFloor(v); v.cls == clsNum && !frac {
				set[n] = true
			} else if v.cls == clsTime && v.ns == 0 {
				set[v.i] = true
			}
		}
		ints := col.ints
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			if set[ints[r]] {
				return triTrue
			}
			return miss
		}, nil
	case TypeText:
		set := map[string]bool{}
		for _, v := range vals {
			set[v.s] = true
		}
		strs := col.strs
		return func(r int) tri {
			if !valid[r] {
				return triUnknown
			}
			if set[strs[r]] {
				return triTrue
			}
			return miss
		}, nil
	}
	g := getter(col)
	return func(r int) tri {
		a := g(r)
		if a.null {
			return triUnknown
		}
		for _, v := range vals {
			if compareScalars(a, v) == 0 {
				return triTrue
			}
		}
		return miss
	}, nil
}
