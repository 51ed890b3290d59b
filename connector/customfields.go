package connector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/extract-dev/extract/schema"
)

// CustomField is one custom field of the account, as NetSuite's customfield table lists
// it (../shared/netsuite-api.md §10.1).
type CustomField struct {
	ScriptID        string // lowercase, e.g. custentity_region
	Label           string // customfield.name
	FieldType       string // ENTITY, CRM, …
	ValueType       string // fieldvaluetype, e.g. "Check Box", "Multiple Select"
	ValueTypeRecord string // the list or record a List/Record or Multiple Select refers to
	Stored          bool   // isstored: a non-stored field holds no value and is not selected
}

// customPrefixes classify custom fields by scriptid prefix, which NetSuite fixes per
// kind of record; fieldtype is not reliable for this (CRM fields' is undocumented).
var customPrefixes = []struct {
	prefix  string
	streams []string
}{
	{"custentity", []string{Customer, Contact}},
	{"custevent", []string{CalendarEvent, Task, PhoneCall}},
}

// Streams are the streams whose table carries the field. custrecord fields belong to
// every kind of custom record; only those whose fieldtype says address are the address
// book's (the exact fieldtype of address fields is not documented).
func (f CustomField) Streams() []string {
	for _, p := range customPrefixes {
		if strings.HasPrefix(f.ScriptID, p.prefix) {
			return p.streams
		}
	}
	if strings.HasPrefix(f.ScriptID, "custrecord") && strings.Contains(normaliseLabel(f.FieldType), "addr") {
		return []string{CustomerAddressBook, ContactAddressBook}
	}
	return nil
}

// customKinds maps a fieldvaluetype label, normalised (lowercase letters and digits
// only), to the column kind. It holds Oracle's labels, their known variants and the SDF
// type ids, because the spelling differs between sources and releases.
var customKinds = map[string]schema.Kind{
	"checkbox":      schema.Bool,
	"integernumber": schema.Integer, "integer": schema.Integer,
	"decimalnumber": schema.Float, "decimal": schema.Float, "float": schema.Float, "currency": schema.Float,
	"percent":  schema.Percent,
	"date":     schema.Date,
	"datetime": schema.DateTime, "datetimetz": schema.DateTime,
	"listrecord": schema.Integer, "select": schema.Integer,
	"multipleselect": schema.IntegerList, "multiselect": schema.IntegerList,
	"timeofday": schema.Text, "time": schema.Text,
	"freeformtext": schema.Text, "text": schema.Text, "textarea": schema.Text, "longtext": schema.Text,
	"clobtext": schema.Text, "richtext": schema.Text, "emailaddress": schema.Text, "email": schema.Text,
	"hyperlink": schema.Text, "url": schema.Text, "phonenumber": schema.Text, "phone": schema.Text,
	"help": schema.Text, "inlinehtml": schema.Text, "image": schema.Text, "document": schema.Text,
}

func normaliseLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CustomKind is the column kind of a fieldvaluetype; ok is false for a label the
// connector does not know, which is then extracted as text.
func CustomKind(valueType string) (k schema.Kind, ok bool) {
	k, ok = customKinds[normaliseLabel(valueType)]
	if !ok {
		return schema.Text, false
	}
	return k, true
}

// secretValueType is a field whose value is a secret: never extracted.
func secretValueType(valueType string) bool { return normaliseLabel(valueType) == "password" }

// customFieldTable is what the connector reads of NetSuite's customfield table. Only
// scriptid and fieldvaluetype are indispensable; the others are read when the account
// serves them.
var customFieldTable = schema.Table{Name: "customfield", PrimaryKey: "scriptid", Columns: []schema.Column{
	{Name: "scriptid", Kind: schema.Text}, {Name: "fieldvaluetype", Kind: schema.Text},
	{Name: "name", Kind: schema.Text}, {Name: "fieldtype", Kind: schema.Text},
	{Name: "fieldvaluetyperecord", Kind: schema.Text}, {Name: "isstored", Kind: schema.Text},
}}

// ReadCustomFields reads the account's custom fields that belong to a stream (by
// scriptid prefix), in scriptid order. Columns of the customfield table the account does
// not serve are dropped as for any table (dropped names them); without isstored every
// field is taken as stored. requests counts what was sent.
func ReadCustomFields(ctx context.Context, q Querier) (fields []CustomField, dropped []Dropped, requests int64, err error) {
	build := func(cols []schema.Column) (string, error) {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = "customfield." + c.Name
		}
		return "SELECT " + strings.Join(names, ", ") + " FROM customfield ORDER BY customfield.scriptid", nil
	}
	d := &ColumnDropper{Querier: q, Build: build, Required: func(c schema.Column) bool {
		return c.Name == "scriptid" || c.Name == "fieldvaluetype"
	}}
	page, cols, dropped, err := d.Run(ctx, customFieldTable.Columns, PageSize)
	requests = d.Requests
	if err != nil {
		return nil, dropped, requests, fmt.Errorf("reading the customfield table: %w", err)
	}
	hasStored := indexOfField(cols, "isstored") >= 0
	for offset := 0; ; {
		for _, row := range page.Items {
			f := CustomField{
				ScriptID: strings.ToLower(strings.TrimSpace(row["scriptid"])), Label: row["name"], FieldType: row["fieldtype"],
				ValueType: row["fieldvaluetype"], ValueTypeRecord: row["fieldvaluetyperecord"],
				Stored: !hasStored || row["isstored"] != "F",
			}
			if f.ScriptID != "" && f.Streams() != nil {
				fields = append(fields, f)
			}
		}
		if !page.HasMore {
			break
		}
		offset += PageSize
		query, _ := build(cols)
		requests++
		if page, err = q.SuiteQL(ctx, query, PageSize, offset); err != nil {
			return nil, dropped, requests, fmt.Errorf("reading the customfield table at offset %d: %w", offset, err)
		}
	}
	slices.SortFunc(fields, func(a, b CustomField) int { return strings.Compare(a.ScriptID, b.ScriptID) })
	fields = slices.CompactFunc(fields, func(a, b CustomField) bool { return a.ScriptID == b.ScriptID })
	return fields, dropped, requests, nil
}
