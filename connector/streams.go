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

// StreamNames lists every stream in the order runs process and report them.
var StreamNames = []string{Customer, Contact, CalendarEvent, Task, PhoneCall}

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

// Table returns the declaration of a stream.
func Table(name string) (schema.Table, error) {
	cols, ok := standardColumns[name]
	if !ok {
		return schema.Table{}, fmt.Errorf("%w: unknown stream %q (want one of %s)", ErrConfig, name, strings.Join(StreamNames, ","))
	}
	t := schema.Table{Name: name, Columns: slices.Clone(cols), PrimaryKey: "id", Cursor: "lastmodifieddate"}
	return t, t.Validate()
}

// ParseStreams reads a comma-separated stream list; empty means all streams.
func ParseStreams(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return slices.Clone(StreamNames), nil
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if _, ok := standardColumns[s]; !ok {
			return nil, fmt.Errorf("%w: --streams: unknown stream %q (want a subset of %s)", ErrConfig, s, strings.Join(StreamNames, ","))
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
