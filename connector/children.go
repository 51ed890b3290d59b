package connector

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/extract-dev/extract/schema"
)

// Child streams: rows that belong to a customer or contact and live in their own table —
// address-book lines (with their address) and subsidiary memberships. They change without
// a deleted-record entry and sometimes without touching the parent's lastmodifieddate, so
// they are read differently from the records (../shared/netsuite-api.md §10.2, §10.3).
const (
	CustomerAddressBook            = "customeraddressbook"
	ContactAddressBook             = "contactaddressbook"
	CustomerSubsidiaryRelationship = "customersubsidiaryrelationship"
)

// ChildStreamNames lists the child streams in the order runs report them.
var ChildStreamNames = []string{CustomerAddressBook, ContactAddressBook, CustomerSubsidiaryRelationship}

// Child describes a child stream: its line table, the parent it belongs to, and an
// optional detail table joined one-to-one (the address of an address-book line).
type Child struct {
	Name      string
	Parent    string // customer or contact: the table whose changes and deletions matter
	Lines     string // the line table
	ParentKey string // the line table's column naming the parent
	LineKey   string // the line table's own key
	// Detail, when set, is joined with Detail.Key = Lines.DetailRef; its columns are
	// DetailColumns. Stamp is the table whose lastmodifieddate moves when a row changes
	// in place (Detail for addresses, Lines for memberships).
	Detail, DetailKey, DetailRef string
	DetailColumns                map[string]bool
	Stamp                        string
}

var addressColumns = []schema.Column{
	col("addressee", txt), col("attention", txt), col("addr1", txt), col("addr2", txt), col("addr3", txt),
	col("addrphone", txt), col("addrtext", txt), col("city", txt), col("state", txt), col("dropdownstate", txt),
	col("zip", txt), col("country", txt), col("override", yes), col("lastmodifieddate", ts),
}

func addressBook(name, parent string) Child {
	detail := map[string]bool{}
	for _, c := range addressColumns {
		detail[c.Name] = true
	}
	return Child{Name: name, Parent: parent, Lines: name, ParentKey: "entity", LineKey: "internalid",
		Detail: name + "entityaddress", DetailKey: "nkey", DetailRef: "addressbookaddress", DetailColumns: detail,
		Stamp: name + "entityaddress"}
}

var children = map[string]Child{
	CustomerAddressBook: addressBook(CustomerAddressBook, Customer),
	ContactAddressBook:  addressBook(ContactAddressBook, Contact),
	CustomerSubsidiaryRelationship: {Name: CustomerSubsidiaryRelationship, Parent: Customer, Lines: CustomerSubsidiaryRelationship,
		ParentKey: "entity", LineKey: "id", Stamp: CustomerSubsidiaryRelationship},
}

func init() {
	lines := []schema.Column{col("entity", num), col("internalid", num), col("label", txt), col("defaultbilling", yes),
		col("defaultshipping", yes), col("addressbookaddress", num)}
	for _, name := range []string{CustomerAddressBook, ContactAddressBook} {
		standardColumns[name] = append(append([]schema.Column{}, lines...), addressColumns...)
	}
	standardColumns[CustomerSubsidiaryRelationship] = []schema.Column{col("id", num), col("entity", num), col("subsidiary", num),
		col("isprimarysub", yes), col("primarycurrency", num), col("lastmodifieddate", ts)}
}

// ChildOf returns the child stream's description; ok is false for a record stream.
func ChildOf(name string) (Child, bool) {
	c, ok := children[name]
	return c, ok
}

// childTable is the output table of a child stream: keyed by (parent, line), no cursor.
func childTable(c Child, cols []schema.Column) schema.Table {
	cols = append(cols, runColumns()...)
	return schema.Table{Name: c.Name, Columns: cols, PrimaryKey: c.LineKey, Keys: []string{c.ParentKey}}
}

// HasStamp reports whether cols still hold the column whose lastmodifieddate tells an
// in-place change (NetSuite may not serve it, for memberships).
func (c Child) HasStamp(cols []schema.Column) bool {
	for _, col := range cols {
		if col.Name == "lastmodifieddate" && !col.Derived {
			return true
		}
	}
	return false
}

func (c Child) tableOf(col schema.Column) string {
	if c.DetailColumns[col.Name] || (col.Custom && c.Detail != "") {
		return c.Detail
	}
	return c.Lines
}

// selectFrom renders the select list (every column aliased to its output name, dates
// through TO_CHAR) and the FROM clause, joining the detail table when there is one. A
// LEFT JOIN: a line whose detail row is missing is still a line.
func (c Child) selectFrom(cols []schema.Column, join string) string {
	var b strings.Builder
	writeSelect(&b, cols, c.tableOf, true)
	fmt.Fprintf(&b, " FROM %s", c.Lines)
	if c.Detail != "" {
		fmt.Fprintf(&b, " %s %s ON %s.%s = %s.%s", join, c.Detail, c.Detail, c.DetailKey, c.Lines, c.DetailRef)
	}
	return b.String()
}

func (c Child) keyOrder() string {
	return fmt.Sprintf(" ORDER BY %s.%s, %s.%s", c.Lines, c.ParentKey, c.Lines, c.LineKey)
}

// ScanQuery reads every line after key position after (nil: from the start) in key
// order: a keyset on two integers, so no query pages towards the 100,000-row cap.
func (c Child) ScanQuery(cols []schema.Column, after *[2]int64) string {
	q := c.selectFrom(cols, "LEFT JOIN")
	if after != nil {
		p, l := c.Lines+"."+c.ParentKey, c.Lines+"."+c.LineKey
		q += fmt.Sprintf(" WHERE (%s > %d OR (%s = %d AND %s > %d))", p, after[0], p, after[0], l, after[1])
	}
	return q + c.keyOrder()
}

// LinesOfQuery reads the lines of some parents (at most 1000, SuiteQL's IN limit) in key
// order.
func (c Child) LinesOfQuery(cols []schema.Column, parents []int64) (string, error) {
	if len(parents) == 0 || len(parents) > 1000 {
		return "", fmt.Errorf("lines of %d parents: want 1 to 1000", len(parents))
	}
	ids := make([]string, len(parents))
	for i, p := range parents {
		ids[i] = strconv.FormatInt(p, 10)
	}
	return c.selectFrom(cols, "LEFT JOIN") + fmt.Sprintf(" WHERE %s.%s IN (%s)", c.Lines, c.ParentKey, strings.Join(ids, ", ")) + c.keyOrder(), nil
}

// StampedQuery reads the lines whose stamp table's lastmodifieddate lies in [lower,
// upper), ordered by it and the key: lines changed in place (an address edited).
func (c Child) StampedQuery(cols []schema.Column, lower, upper time.Time, loc *time.Location) (string, error) {
	stamp := c.Stamp + ".lastmodifieddate"
	var conds []string
	if !lower.IsZero() {
		b, err := bound(stamp, ">=", ">", lower, loc)
		if err != nil {
			return "", err
		}
		conds = append(conds, b)
	}
	b, err := bound(stamp, "<", "<=", upper, loc)
	if err != nil {
		return "", err
	}
	conds = append(conds, b)
	return c.selectFrom(cols, "JOIN") + " WHERE " + strings.Join(conds, " AND ") +
		fmt.Sprintf(" ORDER BY %s, %s.%s, %s.%s", stamp, c.Lines, c.ParentKey, c.Lines, c.LineKey), nil
}

// ChangedParents is the query for the parents modified in a window: their lines may have
// been added, removed or relabelled, which NetSuite saves through the parent.
func (c Child) ChangedParents() Query {
	var id, lmd schema.Column
	for _, col := range standardColumns[c.Parent] {
		switch col.Name {
		case "id":
			id = col
		case "lastmodifieddate":
			lmd = col
		}
	}
	return Query{Table: schema.Table{Name: c.Parent, PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []schema.Column{id, lmd}}}
}
