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
	ref      colRef
	rej      Rejection
	mismatch bool // the qualifier names neither the table nor its alias
}

// resolve classifies a column reference: the column (nil when the table has
// none by that name) and how the account answers a query that mentions it.
func (c *compiler) resolve(ref colRef) (col *colStore, idx int, rej Rejection, mismatch bool) {
	if ref.qual != "" {
		want := c.q.table
		if c.q.alias != "" {
			want = c.q.alias
		}
		if ref.qual != want {
			return nil, -1, UnknownIdentifier, true
		}
	}
	if i, ok := c.t.index[ref.name]; ok {
		return c.t.cols[i], i, c.env.names.rejections[ref.name], false
	}
	if c.env.names.unserved[ref.name] {
		rej = c.env.names.rejections[ref.name]
		if rej == NoRejection {
			rej = c.env.names.nonStored
		}
		if rej == NoRejection {
			rej = NotExposed
		}
		return nil, -1, rej, false
	}
	return nil, -1, UnknownIdentifier, false
}

// refs lists the column references of the statement in source order: the
// select list, WHERE, ORDER BY (a bare ORDER BY name that is a select alias
// refers to that item, not to a column).
func (c *compiler) refs(items []selectItem) []colRef {
	var out []colRef
	for _, it := range items {
		if it.kind == itemColumn || it.kind == itemToChar {
			out = append(out, it.col)
		}
	}
	add := func(o operand) {
		if o.kind == opColumn {
			out = append(out, o.col)
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
			out = append(out, k.expr.col)
		case k.ref.qual == "" && isAlias(items, k.ref.name):
		default:
			out = append(out, k.ref)
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

// checkNames validates every column the statement mentions before anything
// else is checked, as Oracle resolves names before types. A 400 names the
// first bad reference (the last with NameLastRejected); a column rejected
// with UnexpectedError marks the query broken (500 once it compiles).
func (c *compiler) checkNames(items []selectItem) error {
	var bad []badRef
	brokenWithoutColumn := false
	for _, ref := range c.refs(items) {
		col, _, rej, mismatch := c.resolve(ref)
		switch {
		case rej == UnexpectedError:
			c.broken = true
			brokenWithoutColumn = brokenWithoutColumn || col == nil
		case rej != NoRejection:
			bad = append(bad, badRef{ref: ref, rej: rej, mismatch: mismatch})
		}
	}
	if len(bad) > 0 {
		b := bad[0]
		if c.env.names.nameLast {
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
	if b.ref.qual != "" && (b.mismatch || c.env.names.qualified) {
		name = b.ref.String()
	}
	if b.rej == NotExposed {
		return errorf("Field '%s' for record '%s' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL", name, c.q.table)
	}
	return unknownIdentifier(name, c.available())
}

// available lists the table's served columns for the Unknown identifier
// message, in column order.
func (c *compiler) available() []string {
	var names []string
	for _, col := range c.t.cols {
		if c.env.names.rejections[col.Name].invalidQuery() {
			continue
		}
		name := col.Name
		if c.env.names.quoteList {
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
		for _, name := range tablesOf(f.ScriptID) {
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
