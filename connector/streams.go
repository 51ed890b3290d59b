package connector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/extract-dev/extract/schema"
)

// Stream names, which are also the SuiteQL tables.
const (
	Customer      = "customer"
	Contact       = "contact"
	CalendarEvent = "calendarevent"
	Task          = "task"
	PhoneCall     = "phonecall"
)

// StreamNames lists the record streams in the order runs process and report them;
// AllStreams adds the child streams (address books, subsidiary memberships).
var StreamNames = []string{Customer, Contact, CalendarEvent, Task, PhoneCall}

// AllStreams is every stream, records first.
func AllStreams() []string { return append(slices.Clone(StreamNames), ChildStreamNames...) }

func col(name string, k schema.Kind) schema.Column { return schema.Column{Name: name, Kind: k} }

const (
	txt = schema.Text
	num = schema.Integer
	flt = schema.Float
	yes = schema.Bool
	day = schema.Date
	ts  = schema.DateTime
)

// standardColumns are the SuiteQL columns of each record, from ../shared/netsuite-api.md §3.
// References to other records are internal ids (integers); activity start/end times are
// datetimes read with TO_CHAR like every other datetime.
var standardColumns = map[string][]schema.Column{
	Customer: {
		col("id", num), col("entityid", txt), col("externalid", txt), col("companyname", txt),
		col("altname", txt), col("firstname", txt), col("lastname", txt), col("isperson", yes),
		col("email", txt), col("phone", txt), col("isinactive", yes), col("parent", num),
		col("currency", num), col("defaultbillingaddress", num), col("defaultshippingaddress", num),
		col("receivablesaccount", num), col("firstorderdate", day), col("subsidiary", num),
		col("entitystatus", num), col("salesrep", num), col("terms", num), col("category", num),
		col("datecreated", ts), col("lastmodifieddate", ts),
	},
	Contact: {
		col("id", num), col("entityid", txt), col("externalid", txt), col("firstname", txt),
		col("lastname", txt), col("email", txt), col("phone", txt), col("title", txt),
		col("company", num), col("supervisor", num), col("subsidiary", num), col("contactsource", num),
		col("isinactive", yes), col("datecreated", ts), col("lastmodifieddate", ts),
	},
	CalendarEvent: {
		col("id", num), col("title", txt), col("status", txt), col("accesslevel", txt),
		col("startdate", day), col("starttime", ts), col("endtime", ts), col("alldayevent", yes),
		col("timedevent", yes), col("organizer", num), col("owner", num), col("company", num),
		col("contact", num), col("supportcase", num), col("transaction", num), col("location", txt),
		col("message", txt), col("createddate", ts), col("lastmodifieddate", ts),
	},
	Task: {
		col("id", num), col("externalid", txt), col("title", txt), col("status", txt),
		col("priority", txt), col("accesslevel", txt), col("assigned", num), col("owner", num),
		col("company", num), col("contact", num), col("supportcase", num), col("transaction", num),
		col("startdate", day), col("duedate", day), col("completeddate", day), col("starttime", ts),
		col("endtime", ts), col("timedevent", yes), col("percentcomplete", flt), col("message", txt),
		col("createddate", ts), col("lastmodifieddate", ts),
	},
	PhoneCall: {
		col("id", num), col("externalid", txt), col("title", txt), col("phone", txt),
		col("status", txt), col("priority", txt), col("accesslevel", txt), col("assigned", num),
		col("owner", num), col("company", num), col("contact", num), col("supportcase", num),
		col("transaction", num), col("startdate", day), col("enddate", day), col("completeddate", day),
		col("starttime", ts), col("endtime", ts), col("message", txt), col("createddate", ts),
		col("lastmodifieddate", ts),
	},
}

// DeletedColumn marks a tombstone: a row saying the record with this id was deleted at
// its lastmodifieddate. It is false on every record read from its table.
const DeletedColumn = "_deleted"

// ExtractedAtColumn is when extract read the row (or decided the record or line is gone).
// Child rows have no version of their own (an address-book line has no
// lastmodifieddate), so the latest _extracted_at of a key wins when a warehouse merges
// them; for records it breaks ties between rows of the same lastmodifieddate.
const ExtractedAtColumn = "_extracted_at"

// RunIDColumn names the run that wrote the row, as in the output layout's run=<id>
// directory and the run's manifest, so a loader can trace any row to its run.
const RunIDColumn = "_run_id"

// runColumns are the connector's own columns, last in every stream.
func runColumns() []schema.Column {
	return []schema.Column{
		{Name: DeletedColumn, Kind: schema.Bool, Derived: true},
		{Name: ExtractedAtColumn, Kind: schema.DateTime, Derived: true},
		{Name: RunIDColumn, Kind: schema.Text, Derived: true},
	}
}

// Table returns the declaration of a stream.
func Table(name string) (schema.Table, error) {
	cols, ok := standardColumns[name]
	if !ok {
		return schema.Table{}, fmt.Errorf("%w: unknown stream %q (want one of %s)", ErrConfig, name, strings.Join(AllStreams(), ","))
	}
	if c, ok := children[name]; ok {
		t := childTable(c, slices.Clone(cols))
		return t, t.Validate()
	}
	cols = append(slices.Clone(cols), runColumns()...)
	t := schema.Table{Name: name, Columns: cols, PrimaryKey: "id", Cursor: "lastmodifieddate"}
	return t, t.Validate()
}

// deletedTypes are the deletedrecord.type values that stand for a stream's records. The
// spelling NetSuite uses is not documented, so the record type id, its UI name and older
// ids (custjob for customers, event and call for activities) are all matched.
var deletedTypes = map[string][]string{
	Customer:      {"customer", "Customer", "CUSTOMER", "custjob", "CustJob", "CUSTJOB"},
	Contact:       {"contact", "Contact", "CONTACT"},
	CalendarEvent: {"calendarevent", "calendarEvent", "CalendarEvent", "CALENDAREVENT", "event", "Event", "EVENT"},
	Task:          {"task", "Task", "TASK"},
	PhoneCall:     {"phonecall", "phoneCall", "PhoneCall", "PHONECALL", "call", "Call", "CALL"},
}

// deletedRecord is the part of NetSuite's deletedrecord table a tombstone needs.
var deletedRecord = schema.Table{Name: "deletedrecord", PrimaryKey: "recordid", Cursor: "deleteddate", Columns: []schema.Column{
	{Name: "recordid", Kind: schema.Integer}, {Name: "type", Kind: schema.Text}, {Name: "deleteddate", Kind: schema.DateTime},
}}

// Deletions is the query for a stream's deletions, in (deleteddate, recordid) order.
// Customers and contacts share one id space (entities), events, tasks and calls another
// (activities), so within one stream's types a record id is deleted at most once and the
// order is unique.
func Deletions(stream string) (Query, error) {
	types, ok := deletedTypes[stream]
	if !ok {
		return Query{}, fmt.Errorf("%w: unknown stream %q", ErrConfig, stream)
	}
	quoted := make([]string, len(types))
	for i, t := range types {
		quoted[i] = "'" + t + "'"
	}
	return Query{Table: deletedRecord, Filter: "deletedrecord.type IN (" + strings.Join(quoted, ", ") + ")"}, nil
}

// AllDeletions is the query for the deletions of several record streams at once, in
// (deleteddate, recordid, type) order. Entity ids (customers, contacts) and activity ids
// (events, tasks, calls) are separate id spaces, so two streams' deletions can share a
// deleteddate and a recordid; the type makes the order unique (each spelling stands for
// one stream, see DeletedStream) and is the keyset's tie-breaker.
func AllDeletions(streams []string) (Query, error) {
	if len(streams) == 0 {
		return Query{}, fmt.Errorf("%w: no stream to read deletions for", ErrConfig)
	}
	var quoted []string
	for _, s := range streams {
		types, ok := deletedTypes[s]
		if !ok {
			return Query{}, fmt.Errorf("%w: stream %q has no deleted records", ErrConfig, s)
		}
		for _, t := range types {
			quoted = append(quoted, "'"+t+"'")
		}
	}
	return Query{Table: deletedRecord, Filter: "deletedrecord.type IN (" + strings.Join(quoted, ", ") + ")", Tie: "type"}, nil
}

// DeletedStream returns the record stream a deletedrecord.type value stands for.
func DeletedStream(typ string) (string, bool) {
	for s, types := range deletedTypes {
		if slices.Contains(types, typ) {
			return s, true
		}
	}
	return "", false
}

// ParseStreams reads a comma-separated stream list; empty means all streams.
func ParseStreams(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return AllStreams(), nil
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if _, ok := standardColumns[s]; !ok {
			return nil, fmt.Errorf("%w: --streams: unknown stream %q (want a subset of %s)", ErrConfig, s, strings.Join(AllStreams(), ","))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --streams: no stream named", ErrConfig)
	}
	return out, nil
}
