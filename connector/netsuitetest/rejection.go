package netsuitetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Rejection is how the account answers a query that mentions a column it
// will not serve (Options.Rejections, SetRejection). The texts are those seen
// from real accounts (../shared/netsuite-api.md §3, §4); 400 details carry
// NetSuite's "Invalid search query. … Search error occurred: " prefix.
type Rejection string

const (
	// NoRejection serves the column (it clears a rejection in SetRejection).
	NoRejection Rejection = ""
	// NotExposed is 400 INVALID_PARAMETER "Field '<col>' for record '<table>'
	// was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL".
	NotExposed Rejection = "NOT_EXPOSED"
	// UnknownIdentifier is 400 INVALID_PARAMETER "Unknown identifier '<col>'.
	// Available identifiers are: {<the table's served columns>}".
	UnknownIdentifier Rejection = "UNKNOWN_IDENTIFIER"
	// UnexpectedError is 500 UNEXPECTED_ERROR "An unexpected SuiteScript error
	// has occurred. Error ID: <20 random characters>" for the whole query,
	// whatever rows it would match (even limit=1 over an empty window).
	UnexpectedError Rejection = "UNEXPECTED_ERROR"
)

func (r Rejection) valid() bool {
	switch r {
	case NoRejection, NotExposed, UnknownIdentifier, UnexpectedError:
		return true
	}
	return false
}

// invalidQuery reports whether r fails validation (400): such a column is
// not among the "available identifiers" and SELECT * leaves it out.
func (r Rejection) invalidQuery() bool { return r == NotExposed || r == UnknownIdentifier }

// nameRules is what compilation needs to know about the names of one table
// beyond its columns. The zero value serves every column.
type nameRules struct {
	rejections map[string]Rejection // explicit rejections of this table (read-only)
	unserved   map[string]bool      // custom fields listed for this table that are no column
	nonStored  Rejection            // how unserved fields are rejected ("" = NotExposed)
	qualified  bool                 // QualifiedNamesInErrors
	quoteList  bool                 // QuoteAvailableIdentifiers
	nameLast   bool                 // NameLastRejected
}

// errUnexpected makes handleSuiteQL answer 500 UNEXPECTED_ERROR.
var errUnexpected = errors.New("netsuitetest: a selected field breaks the query")

// unexpectedErrorDetail is the 500's detail with a fresh error id.
func unexpectedErrorDetail() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	var id [20]byte
	for i := range id {
		id[i] = chars[rand.IntN(len(chars))]
	}
	return "An unexpected SuiteScript error has occurred. Error ID: " + string(id[:])
}

// badRef is a column reference that fails validation.
type badRef struct {
	ref       colRef
	rej       Rejection
	mismatch  bool  // the qualifier names no table of the FROM clause (nor its alias)
	src       int   // the table the reference resolved to, -1 if none
	ambiguous []int // an unqualified name that several tables have
	scope     int   // tables the reference could see (allScope: all)
}

// resolution is what a column reference names.
type resolution struct {
	src       int       // the source (table of FROM) it resolved to, -1 if none
	col       *colStore // the source table's column; nil when it has none by that name
	ci        int       // the column's position in its table, -1 if none
	rej       Rejection // how the account answers a query that mentions it
	mismatch  bool      // the qualifier names no table of the FROM clause
	ambiguous []int     // an unqualified name several visible tables have
}

// visible returns the tables a reference with this scope can see: the first
// scope tables of FROM (an ON condition sees the tables joined so far).
func (c *compiler) visible(scope int) []source {
	if scope == allScope || scope > len(c.srcs) {
		return c.srcs
	}
	return c.srcs[:scope]
}

// resolve classifies a column reference: the column (nil when the table has
// none by that name) and how the account answers a query that mentions it.
// A qualified name looks in the table its qualifier names (the alias when
// the table has one, as in Oracle); an unqualified one in every visible
// table that has it, and is ambiguous when more than one does.
func (c *compiler) resolve(ref colRef, scope int) resolution {
	vis := c.visible(scope)
	if ref.qual != "" {
		for i := range vis {
			if vis[i].qual() == ref.qual {
				return c.resolveIn(i, ref.name)
			}
		}
		return resolution{src: -1, ci: -1, rej: UnknownIdentifier, mismatch: true}
	}
	var found []int
	for i := range vis {
		if _, ok := vis[i].t.index[ref.name]; ok || vis[i].rules.unserved[ref.name] {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 0:
		if len(vis) == 1 {
			return c.resolveIn(0, ref.name)
		}
		return resolution{src: -1, ci: -1, rej: UnknownIdentifier}
	case 1:
		return c.resolveIn(found[0], ref.name)
	}
	return resolution{src: -1, ci: -1, ambiguous: found}
}

// resolveIn looks a name up in one source.
func (c *compiler) resolveIn(i int, name string) resolution {
	s := &c.srcs[i]
	if ci, ok := s.t.index[name]; ok {
		return resolution{src: i, col: s.t.cols[ci], ci: ci, rej: s.rules.rejections[name]}
	}
	if s.rules.unserved[name] {
		rej := s.rules.rejections[name]
		if rej == NoRejection {
			rej = s.rules.nonStored
		}
		if rej == NoRejection {
			rej = NotExposed
		}
		return resolution{src: i, ci: -1, rej: rej}
	}
	return resolution{src: i, ci: -1, rej: UnknownIdentifier}
}

// scopedRef is a column reference with the tables it can see.
type scopedRef struct {
	ref   colRef
	scope int
}

// refs lists the column references of the statement in source order: the
// select list, the ON conditions, WHERE, ORDER BY (a bare ORDER BY name that
// is a select alias refers to that item, not to a column).
func (c *compiler) refs(items []selectItem) []scopedRef {
	var out []scopedRef
	all := func(ref colRef) { out = append(out, scopedRef{ref: ref, scope: allScope}) }
	for _, it := range items {
		if it.kind == itemColumn || it.kind == itemToChar {
			all(it.col)
		}
	}
	for k, j := range c.q.joins {
		for _, eq := range j.on {
			out = append(out, scopedRef{ref: eq.l, scope: k + 2}, scopedRef{ref: eq.r, scope: k + 2})
		}
	}
	add := func(o operand) {
		if o.kind == opColumn {
			all(o.col)
		}
	}
	var walk func(n cond)
	walk = func(n cond) {
		switch x := n.(type) {
		case condAnd:
			for _, t := range x.terms {
				walk(t)
			}
		case condOr:
			for _, t := range x.terms {
				walk(t)
			}
		case condNot:
			walk(x.x)
		case condCmp:
			add(x.l)
			add(x.r)
		case condIsNull:
			add(x.x)
		case condBetween:
			add(x.x)
			add(x.lo)
			add(x.hi)
		case condIn:
			add(x.x)
			for _, o := range x.list {
				add(o)
			}
		}
	}
	if c.q.where != nil {
		walk(c.q.where)
	}
	for _, k := range c.q.order {
		switch {
		case k.position != 0:
		case k.expr != nil:
			all(k.expr.col)
		case k.ref.qual == "" && isAlias(items, k.ref.name):
		default:
			all(k.ref)
		}
	}
	return out
}

func isAlias(items []selectItem, name string) bool {
	for i := range items {
		if items[i].alias == name {
			return true
		}
	}
	return false
}

// rules are the switches that apply to every table of the statement.
func (c *compiler) rules() nameRules { return c.srcs[0].rules }

// checkNames validates every column the statement mentions before anything
// else is checked, as Oracle resolves names before types. A 400 names the
// first bad reference (the last with NameLastRejected); a column rejected
// with UnexpectedError marks the query broken (500 once it compiles).
func (c *compiler) checkNames(items []selectItem) error {
	var bad []badRef
	brokenWithoutColumn := false
	for _, sr := range c.refs(items) {
		r := c.resolve(sr.ref, sr.scope)
		switch {
		case len(r.ambiguous) > 0:
			bad = append(bad, badRef{ref: sr.ref, src: -1, ambiguous: r.ambiguous, scope: sr.scope})
		case r.rej == UnexpectedError:
			c.broken = true
			brokenWithoutColumn = brokenWithoutColumn || r.col == nil
		case r.rej != NoRejection:
			bad = append(bad, badRef{ref: sr.ref, rej: r.rej, mismatch: r.mismatch, src: r.src, scope: sr.scope})
		}
	}
	if len(bad) > 0 {
		b := bad[0]
		if c.rules().nameLast {
			b = bad[len(bad)-1]
		}
		return c.nameError(b)
	}
	if brokenWithoutColumn {
		return errUnexpected
	}
	return nil
}

// nameError is the 400 detail (after the search prefix) for a bad reference.
func (c *compiler) nameError(b badRef) error {
	name := b.ref.name
	if b.ref.qual != "" && (b.mismatch || c.rules().qualified) {
		name = b.ref.String()
	}
	if len(b.ambiguous) > 0 {
		tables := make([]string, len(b.ambiguous))
		for i, s := range b.ambiguous {
			tables[i] = c.srcs[s].qual()
		}
		return errorf("ORA-00918: column ambiguously defined: '%s' is a column of %s; qualify it with the table name or alias", name, strings.Join(tables, " and "))
	}
	if b.rej == NotExposed {
		return errorf("Field '%s' for record '%s' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL", name, c.srcs[b.src].name)
	}
	return unknownIdentifier(name, c.available(b))
}

// available lists the served columns for the Unknown identifier message, in
// column order: those of the table the reference resolved to (of the only
// table for a single-table query); for an unqualified name no table has, or
// a qualifier no table answers to, in a join, those of every table it could
// see, each qualified by its alias or name.
func (c *compiler) available(b badRef) []string {
	switch {
	case len(c.srcs) == 1:
		return c.srcs[0].served(c.rules().quoteList, false)
	case b.src >= 0:
		return c.srcs[b.src].served(c.rules().quoteList, false)
	}
	var names []string
	for i := range c.visible(b.scope) {
		names = append(names, c.srcs[i].served(c.rules().quoteList, true)...)
	}
	return names
}

// served lists a source's served columns, quoted and qualified as asked.
func (s *source) served(quote, qualify bool) []string {
	var names []string
	for _, col := range s.t.cols {
		if s.rules.rejections[col.Name].invalidQuery() {
			continue
		}
		name := col.Name
		if qualify {
			name = s.qual() + "." + name
		}
		if quote {
			name = "'" + name + "'"
		}
		names = append(names, name)
	}
	return names
}

func unknownIdentifier(name string, available []string) error {
	return errorf("Unknown identifier '%s'. Available identifiers are: {%s}", name, strings.Join(available, ", "))
}

// rulesFor builds the name rules of one table for a request. Callers hold mu.
func (s *Server) rulesFor(table string) nameRules {
	r := nameRules{
		rejections: s.rejections[table],
		nonStored:  s.opts.NonStoredRejection,
		qualified:  s.opts.QualifiedNamesInErrors,
		quoteList:  s.opts.QuoteAvailableIdentifiers,
		nameLast:   s.opts.NameLastRejected,
	}
	for _, f := range s.fields {
		if f.isColumn() {
			continue
		}
		for _, name := range f.tables() {
			if name == table {
				if r.unserved == nil {
					r.unserved = map[string]bool{}
				}
				r.unserved[f.ScriptID] = true
			}
		}
	}
	return r
}

// SetRejection makes the account reject (or, with NoRejection, serve again) a
// column of a table, standard or custom, from the next request on. The
// column must be a column of the table or a custom field listed for it;
// anything else is a bug in the calling test and panics.
func (s *Server) SetRejection(table, column string, r Rejection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setRejection(table, column, r); err != nil {
		panic("netsuitetest: SetRejection: " + err.Error())
	}
}

func (s *Server) setRejection(table, column string, r Rejection) error {
	t, ok := s.tables[table]
	if !ok {
		return fmt.Errorf("unknown table %q", table)
	}
	if !r.valid() {
		return fmt.Errorf("%s.%s: unknown rejection %q", table, column, r)
	}
	if column != strings.ToLower(column) {
		return fmt.Errorf("%s.%s: column names are lower-case", table, column)
	}
	if _, ok := t.index[column]; !ok && !s.rulesFor(table).unserved[column] {
		return fmt.Errorf("%s has no column %q", table, column)
	}
	if r == NoRejection {
		delete(s.rejections[table], column)
		return nil
	}
	if s.rejections[table] == nil {
		s.rejections[table] = map[string]Rejection{}
	}
	s.rejections[table][column] = r
	return nil
}
