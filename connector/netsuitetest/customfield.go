package netsuitetest

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// CustomField is one custom field of the fake account: a row of the
// customfield table and, when it is stored and served, a column of the record
// tables its script id prefix names (custentity… → customer and contact;
// custevent… → calendarevent, task and phonecall; a custrecord… field with
// AddressField → the address tables customeraddressbookentityaddress,
// contactaddressbookentityaddress and entityaddress; any other prefix → no
// record table). The zero values of NotStored and NotServed describe an
// ordinary field.
type CustomField struct {
	// ScriptID is the canonical lower-case script id, e.g. "custentity_region".
	// It is also the column name on the record tables.
	ScriptID string
	// Label is customfield.name, the label users see.
	Label string
	// ValueType is customfield.fieldvaluetype, e.g. "Check Box",
	// "Multiple Select". It decides the column's SQL type, its rendering and
	// its Go type in Row (see ValueTypes). A label the fake does not know is
	// served as text.
	ValueType string
	// ValueTypeRecord is customfield.fieldvaluetyperecord, the list or record a
	// List/Record or Multiple Select field refers to ("" = NULL).
	ValueTypeRecord string
	// FieldType is customfield.fieldtype; "" derives it from the prefix
	// (custentity → ENTITY, custevent → Options.ActivityFieldType, custbody →
	// BODY, custcol → COLUMN, custitem → ITEM, custrecord → RECORD, else OTHER).
	FieldType string
	// Description is customfield.description ("" = NULL).
	Description string
	// NotStored is isstored = 'F': a formula field that holds no value. It is
	// listed in customfield but is no column of the record tables, and
	// selecting it is rejected (Options.NonStoredRejection).
	NotStored bool
	// NotServed lists the field in customfield (isstored 'T') while SuiteQL
	// does not serve it on the record tables: selecting it is rejected like a
	// non-stored field. It holds no data in the fake.
	NotServed bool
	// LastModified is customfield.lastmodifieddate; the zero value picks a
	// fixed instant before Now (New) or Now (AddCustomField).
	LastModified time.Time
	// AddressField makes a custrecord… field an address custom field: a
	// column of the address tables, with customfield.fieldtype
	// Options.AddressFieldType unless FieldType says otherwise. Other
	// prefixes may not set it.
	AddressField bool
}

// fieldKind is what the fake makes of a fieldvaluetype label.
type fieldKind uint8

const (
	fkNone  fieldKind = iota // a standard column, not a custom field
	fkOther                  // a label the fake does not know: text
	fkCheckBox
	fkInteger
	fkDecimal
	fkCurrency
	fkPercent
	fkDate
	fkDateTime
	fkTimeOfDay
	fkListRecord
	fkMultiSelect
	fkFreeFormText
	fkTextArea
	fkLongText
	fkRichText
	fkEmail
	fkHyperlink
	fkPhone
	fkHelp
	fkInlineHTML
	fkPassword
	fkImage
	fkDocument
)

// ValueTypes are the fieldvaluetype labels the fake knows, in the spelling of
// ../shared/netsuite-api.md §10.1, with the Go type a custom column of that
// type has in Row (Upsert, Truth) and the SQL type the fake compares and
// sorts it as:
//
//	Check Box                  bool       bool ('T'/'F')
//	Integer Number             int64      integer
//	Decimal Number, Currency   float64    float (Oracle number text: ".5", "-.25")
//	Percent                    float64    float (50 means 50 %; see Options.PercentRendering)
//	Date                       time.Time  date (00:00 UTC, like standard dates)
//	Date/Time                  time.Time  datetime (the instant, like standard datetimes)
//	Time Of Day                string     text ("9:30 am")
//	List/Record                int64      integer (the internal id)
//	Multiple Select            []int64    text (rendered per Options.MultiSelectRendering)
//	Image, Document            int64      integer (a file id)
//	every other label          string     text
//
// Labels match case-insensitively, ignoring everything but letters and
// digits ("Time of Day", "DATE/TIME"), so tests may use variants.
var ValueTypes = []string{
	"Check Box", "Integer Number", "Decimal Number", "Currency", "Percent", "Date", "Date/Time",
	"Time Of Day", "List/Record", "Multiple Select", "Free-Form Text", "Text Area", "Long Text",
	"Rich Text", "Email Address", "Hyperlink", "Phone Number", "Help", "Inline HTML", "Password",
	"Image", "Document",
}

var fieldKinds = map[string]fieldKind{
	"checkbox": fkCheckBox, "integernumber": fkInteger, "decimalnumber": fkDecimal,
	"currency": fkCurrency, "percent": fkPercent, "date": fkDate, "datetime": fkDateTime,
	"timeofday": fkTimeOfDay, "listrecord": fkListRecord, "multipleselect": fkMultiSelect,
	"freeformtext": fkFreeFormText, "textarea": fkTextArea, "longtext": fkLongText,
	"richtext": fkRichText, "emailaddress": fkEmail, "hyperlink": fkHyperlink,
	"phonenumber": fkPhone, "help": fkHelp, "inlinehtml": fkInlineHTML, "password": fkPassword,
	"image": fkImage, "document": fkDocument,
}

func kindOf(valueType string) fieldKind {
	var b strings.Builder
	for _, r := range strings.ToLower(valueType) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	if k, ok := fieldKinds[b.String()]; ok {
		return k
	}
	return fkOther
}

// columnType is the SQL type the fake gives a custom column of this kind.
func (k fieldKind) columnType() ColumnType {
	switch k {
	case fkCheckBox:
		return TypeBool
	case fkInteger, fkListRecord, fkImage, fkDocument:
		return TypeInteger
	case fkDecimal, fkCurrency, fkPercent:
		return TypeFloat
	case fkDate:
		return TypeDate
	case fkDateTime:
		return TypeDatetime
	}
	return TypeText
}

// refersToList reports whether fieldvaluetyperecord means something for k.
func (k fieldKind) refersToList() bool { return k == fkListRecord || k == fkMultiSelect }

// customPrefixTables maps a script id prefix to the record tables that carry
// such fields as columns.
var customPrefixTables = []struct {
	prefix string
	tables []string
}{
	{"custentity", []string{"customer", "contact"}},
	{"custevent", []string{"calendarevent", "task", "phonecall"}},
}

// tablesOf lists the record tables a custom field belongs to by its prefix.
func tablesOf(scriptID string) []string {
	for _, p := range customPrefixTables {
		if strings.HasPrefix(scriptID, p.prefix) {
			return p.tables
		}
	}
	return nil
}

// tables lists the tables f is a column of when it is stored and served.
func (f CustomField) tables() []string {
	if f.AddressField {
		return addressFieldTables
	}
	return tablesOf(f.ScriptID)
}

// isColumn reports whether f is a column of the record tables (stored and
// served); otherwise it lives only in customfield.
func (f CustomField) isColumn() bool {
	return !f.NotStored && !f.NotServed && f.tables() != nil
}

// defaultFieldType derives customfield.fieldtype from the prefix.
func defaultFieldType(scriptID, activity string) string {
	for _, p := range []struct{ prefix, typ string }{
		{"custentity", "ENTITY"}, {"custevent", activity}, {"custbody", "BODY"},
		{"custcol", "COLUMN"}, {"custitem", "ITEM"}, {"custrecord", "RECORD"},
	} {
		if strings.HasPrefix(scriptID, p.prefix) {
			return p.typ
		}
	}
	return "OTHER"
}

// canonicalField validates f and returns it with a lower-case script id.
func canonicalField(f CustomField) (CustomField, error) {
	f.ScriptID = strings.ToLower(strings.TrimSpace(f.ScriptID))
	id := f.ScriptID
	switch {
	case !strings.HasPrefix(id, "cust"):
		return f, fmt.Errorf("custom field %q: a script id starts with cust (custentity, custevent, custbody …)", id)
	case len(id) > 40:
		return f, fmt.Errorf("custom field %q: a script id has at most 40 characters", id)
	case strings.IndexFunc(id, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) >= 0:
		return f, fmt.Errorf("custom field %q: a script id has only letters, digits and _", id)
	case strings.TrimSpace(f.ValueType) == "":
		return f, fmt.Errorf("custom field %q: ValueType (fieldvaluetype) is required", id)
	case f.AddressField && !strings.HasPrefix(id, "custrecord"):
		return f, fmt.Errorf("custom field %q: only a custrecord… field can be an address field", id)
	}
	for _, name := range f.tables() {
		def, _ := lookupTableDef(name)
		for _, c := range def.cols {
			if c.Name == id {
				return f, fmt.Errorf("custom field %q: clashes with a standard column of %s", id, name)
			}
		}
	}
	return f, nil
}

// StandardCustomFields returns a realistic set of custom fields covering every
// value type of ../shared/netsuite-api.md §10.1, for entities (custentity…,
// served on customer and contact) and for CRM records (custevent…, served on
// calendarevent, task and phonecall): one field per value type, one with a
// label the connector will not know ("Geo Point"), one listed but not served
// by SuiteQL (NotServed) and one non-stored formula field (NotStored) per
// group; plus fields of other prefixes (custbody, custcol, custitem,
// custrecord) that exist only in the customfield table, and two address
// custom fields (custrecord_addr_verified, Check Box, and
// custrecord_delivery_notes, Free-Form Text; AddressField set) served on the
// address tables. Each call returns a new slice.
func StandardCustomFields() []CustomField {
	type spec struct{ suffix, label, valueType, list string }
	group := func(prefix string, specs []spec) []CustomField {
		out := make([]CustomField, 0, len(specs))
		for _, s := range specs {
			f := CustomField{ScriptID: prefix + s.suffix, Label: s.label, ValueType: s.valueType, ValueTypeRecord: s.list}
			out = append(out, f)
		}
		return out
	}
	fields := group("custentity", []spec{
		{"_vip", "VIP", "Check Box", ""},
		{"_employee_count", "Employees", "Integer Number", ""},
		{"_discount_rate", "Discount rate", "Decimal Number", ""},
		{"_credit_balance", "Credit balance", "Currency", ""},
		{"_commission_pct", "Commission %", "Percent", ""},
		{"_renewal_date", "Renewal date", "Date", ""},
		{"_last_contacted", "Last contacted", "Date/Time", ""},
		{"_call_time", "Best time to call", "Time Of Day", ""},
		{"_region", "Région", "List/Record", "customlist_region"},
		{"_product_lines", "Product lines", "Multiple Select", "customlist_product_line"},
		{"_nickname", "Nickname", "Free-Form Text", ""},
		{"_notes", "Notes", "Text Area", ""},
		{"_history", "Account history", "Long Text", ""},
		{"_profile_html", "Profile", "Rich Text", ""},
		{"_billing_email", "Billing e-mail", "Email Address", ""},
		{"_website", "Website", "Hyperlink", ""},
		{"12", "Mobile (auto id)", "Phone Number", ""},
		{"location", "Location (id typed without _)", "Geo Point", ""},
		{"_legacy_code", "Legacy code", "Free-Form Text", ""},
		{"_total_score", "Total score (formula)", "Integer Number", ""},
	})
	events := group("custevent", []spec{
		{"_billable", "Billable", "Check Box", ""},
		{"_attendees", "Attendees", "Integer Number", ""},
		{"_duration_hours", "Duration (hours)", "Decimal Number", ""},
		{"_cost", "Cost", "Currency", ""},
		{"_completion_pct", "Completion", "Percent", ""},
		{"_followup_date", "Follow-up date", "Date", ""},
		{"_reminder_at", "Reminder", "Date/Time", ""},
		{"_preferred_time", "Preferred time", "Time Of Day", ""},
		{"_outcome", "Outcome", "List/Record", "customlist_call_outcome"},
		{"_topics", "Topics", "Multiple Select", "customlist_topic"},
		{"_reference", "Reference", "Free-Form Text", ""},
		{"_summary", "Summary", "Text Area", ""},
		{"_transcript", "Transcript", "Long Text", ""},
		{"_agenda_html", "Agenda", "Rich Text", ""},
		{"_contact_email", "Contact e-mail", "Email Address", ""},
		{"_meeting_url", "Meeting link", "Hyperlink", ""},
		{"3", "Dial-in (auto id)", "Phone Number", ""},
		{"venue", "Venue (id typed without _)", "Geo Point", ""},
		{"_internal_ref", "Internal reference", "Free-Form Text", ""},
		{"_sla_hours", "SLA hours (formula)", "Decimal Number", ""},
	})
	for i := range fields {
		switch fields[i].ScriptID {
		case "custentity_legacy_code":
			fields[i].NotServed = true
			fields[i].Description = "Kept for the old CRM; not available to SuiteQL."
		case "custentity_total_score":
			fields[i].NotStored = true
			fields[i].Description = "Formula: {custentity_employee_count} * 2"
		case "custentity_region":
			fields[i].Description = "Sales region, from the Region list.\nUsed by the territory rules."
		}
	}
	for i := range events {
		switch events[i].ScriptID {
		case "custevent_internal_ref":
			events[i].NotServed = true
		case "custevent_sla_hours":
			events[i].NotStored = true
			events[i].Description = "Formula field"
		}
	}
	fields = append(fields, events...)
	fields = append(fields,
		CustomField{ScriptID: "custbody_approval_status", Label: "Approval status", ValueType: "List/Record", ValueTypeRecord: "customlist_approval"},
		CustomField{ScriptID: "custbody_po_date", Label: "PO date", ValueType: "Date"},
		CustomField{ScriptID: "custcol_line_memo", Label: "Line memo", ValueType: "Free-Form Text"},
		CustomField{ScriptID: "custitem_weight_class", Label: "Weight class", ValueType: "Decimal Number"},
		CustomField{ScriptID: "custrecord_region_manager", Label: "Region manager", ValueType: "List/Record", ValueTypeRecord: "employee"},
		CustomField{ScriptID: "custrecord_is_default", Label: "Default", ValueType: "Check Box"},
		CustomField{ScriptID: "custrecord_addr_verified", Label: "Address verified", ValueType: "Check Box", AddressField: true},
		CustomField{ScriptID: "custrecord_delivery_notes", Label: "Delivery notes", ValueType: "Free-Form Text", AddressField: true},
	)
	return fields
}

// The customfield table. Its rows are Options.CustomFields (and the
// mutations since); key scriptid.
const customFieldTable = "customfield"

func customFieldTableDef(withRecord bool) *tableDef {
	cols := []Column{
		col("scriptid", TypeText), col("name", TypeText), col("fieldtype", TypeText),
		col("fieldvaluetype", TypeText),
	}
	if withRecord {
		cols = append(cols, col("fieldvaluetyperecord", TypeText))
	}
	cols = append(cols, col("isstored", TypeBool), col("lastmodifieddate", TypeDatetime), col("description", TypeText))
	return &tableDef{name: customFieldTable, key: []string{"scriptid"}, cols: cols}
}

// defaultFieldModified is the customfield.lastmodifieddate of a field given in
// Options without one: a fixed instant up to a year before now.
func defaultFieldModified(scriptID string, now time.Time) time.Time {
	h := fnv.New64a()
	h.Write([]byte(scriptID))
	return now.Add(-time.Duration(86400+h.Sum64()%(365*86400)) * time.Second).Truncate(time.Second)
}

// customFieldRow is the customfield row of f as Upsert-style values.
func (s *Server) customFieldRow(f CustomField) Row {
	id := f.ScriptID
	if s.opts.UpperCaseScriptIDs {
		id = strings.ToUpper(id)
	}
	ft := f.FieldType
	switch {
	case ft != "":
	case f.AddressField:
		ft = s.opts.AddressFieldType
	default:
		ft = defaultFieldType(f.ScriptID, s.opts.ActivityFieldType)
	}
	r := Row{
		"scriptid": id, "name": f.Label, "fieldtype": ft, "fieldvaluetype": f.ValueType,
		"isstored": !f.NotStored, "lastmodifieddate": f.LastModified, "description": f.Description,
	}
	if !s.opts.NoFieldValueTypeRecord {
		r["fieldvaluetyperecord"] = f.ValueTypeRecord
	}
	return r
}

// putCustomFieldRow inserts or replaces f's customfield row. Callers hold mu.
func (s *Server) putCustomFieldRow(f CustomField) {
	t := s.tables[customFieldTable]
	cells, err := t.rowToCells(nullCells(len(t.cols)), s.customFieldRow(f), s.zone)
	if err != nil {
		panic("netsuitetest: customfield row: " + err.Error())
	}
	if row := t.findKey(cells); row >= 0 {
		t.setRow(row, cells)
		return
	}
	t.appendRow(cells)
}

// dropCustomFieldRow removes f's customfield row. Callers hold mu.
func (s *Server) dropCustomFieldRow(f CustomField) {
	t := s.tables[customFieldTable]
	cells, _ := t.rowToCells(nullCells(len(t.cols)), Row{"scriptid": s.customFieldRow(f)["scriptid"]}, s.zone)
	if row := t.findKey(cells); row >= 0 {
		t.removeRow(row)
	}
}

// newCustomColumn builds the empty column store of a custom field.
func (s *Server) newCustomColumn(f CustomField) *colStore {
	k := kindOf(f.ValueType)
	c := &colStore{Column: Column{Name: f.ScriptID, Type: k.columnType(), ValueType: f.ValueType}, fk: k}
	if k == fkPercent {
		c.pct = s.percentMode
	}
	if k == fkMultiSelect {
		c.msSep = s.multiSelectSep
	}
	return c
}

// fieldIndex returns the position of a custom field in s.fields, or -1.
func (s *Server) fieldIndex(scriptID string) int {
	id := strings.ToLower(strings.TrimSpace(scriptID))
	return slices.IndexFunc(s.fields, func(f CustomField) bool { return f.ScriptID == id })
}

// addCustomField adds a validated field to customfield and its tables.
// Callers hold mu (or own the server during New).
func (s *Server) addCustomField(f CustomField) error {
	f, err := canonicalField(f)
	if err != nil {
		return err
	}
	if s.fieldIndex(f.ScriptID) >= 0 {
		return fmt.Errorf("custom field %q: listed twice", f.ScriptID)
	}
	s.fields = append(s.fields, f)
	s.putCustomFieldRow(f)
	if f.isColumn() {
		for _, name := range f.tables() {
			s.tables[name].addColumn(s.newCustomColumn(f))
		}
	}
	return nil
}

// AddCustomField adds a custom field between runs: a customfield row (its
// lastmodifieddate is Now unless f.LastModified is set) and, when the field is
// stored and served, a column of its record tables in which every existing
// row is NULL. Records' lastmodifieddate is not bumped. An invalid or
// duplicate field is a bug in the calling test and panics.
func (s *Server) AddCustomField(f CustomField) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.LastModified.IsZero() {
		f.LastModified = s.opts.Now().Truncate(time.Second)
	}
	if err := s.addCustomField(f); err != nil {
		panic("netsuitetest: AddCustomField: " + err.Error())
	}
}

// RemoveCustomField deletes a custom field: its customfield row and its column
// on the record tables (selecting it is then an Unknown identifier), and any
// rejection set for it. It reports whether the field existed.
func (s *Server) RemoveCustomField(scriptID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.fieldIndex(scriptID)
	if i < 0 {
		return false
	}
	f := s.fields[i]
	s.fields = slices.Delete(s.fields, i, i+1)
	s.dropCustomFieldRow(f)
	for _, name := range f.tables() {
		s.tables[name].removeColumn(f.ScriptID)
		delete(s.rejections[name], f.ScriptID)
	}
	return true
}

// SetCustomFieldType changes a field's fieldvaluetype, as an administrator
// editing the field does. customfield.lastmodifieddate becomes Now;
// fieldvaluetyperecord is kept only for List/Record and Multiple Select.
// Stored values are converted when they can be (integer → text "42",
// text "42" → integer, date/time → date, one-id multi-select → list value,
// anything → text as SuiteQL renders it raw …) and become NULL otherwise.
// Records' lastmodifieddate is NOT bumped. An unknown script id or an empty
// type panics.
func (s *Server) SetCustomFieldType(scriptID, valueType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.fieldIndex(scriptID)
	if i < 0 {
		panic(fmt.Sprintf("netsuitetest: SetCustomFieldType: no custom field %q", scriptID))
	}
	if strings.TrimSpace(valueType) == "" {
		panic("netsuitetest: SetCustomFieldType: empty value type")
	}
	f := s.fields[i]
	f.ValueType = valueType
	if !kindOf(valueType).refersToList() {
		f.ValueTypeRecord = ""
	}
	f.LastModified = s.opts.Now().Truncate(time.Second)
	s.fields[i] = f
	s.putCustomFieldRow(f)
	if !f.isColumn() {
		return
	}
	for _, name := range f.tables() {
		t := s.tables[name]
		ci, ok := t.index[f.ScriptID]
		if !ok {
			continue
		}
		old := t.cols[ci]
		nc := s.newCustomColumn(f)
		nc.allocate(t.n)
		for row := 0; row < t.n; row++ {
			v, ok := s.convertValue(cellValue(old, old.get(row)), old.fk, nc.fk)
			c, err := toCell(nc, v, s.zone)
			if !ok || err != nil {
				c = cell{null: true}
			}
			nc.set(row, c)
		}
		t.cols[ci] = nc
	}
}

// convertValue converts a Row value of one kind to another kind's Go type,
// reporting false when the value cannot be represented (it becomes NULL).
func (s *Server) convertValue(v any, from, to fieldKind) (any, bool) {
	if v == nil {
		return nil, true
	}
	switch to.columnType() {
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, true
		case string:
			if x == "T" || x == "F" {
				return x == "T", true
			}
		}
	case TypeInteger:
		switch x := v.(type) {
		case int64:
			return x, true
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), true
			}
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, true
			}
		case []int64:
			if len(x) == 1 {
				return x[0], true
			}
		}
	case TypeFloat:
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
		}
	case TypeDate:
		if x, ok := v.(time.Time); ok {
			if from == fkDateTime {
				y, m, d := x.In(s.zone.loc).Date()
				return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
			}
			return x, true
		}
	case TypeDatetime:
		if x, ok := v.(time.Time); ok {
			if from == fkDate {
				y, m, d := x.Date()
				return time.Unix(s.zone.localMidnight(y, m, d), 0).UTC(), true
			}
			return x, true
		}
	default: // text kinds, Time Of Day, Multiple Select
		switch {
		case to == fkMultiSelect:
			switch x := v.(type) {
			case []int64:
				return x, true
			case int64:
				return []int64{x}, true
			case string:
				ids, ok := parseIDList(x)
				return ids, ok
			}
			return nil, false
		case to == fkTimeOfDay:
			switch x := v.(type) {
			case string:
				return x, true
			case time.Time:
				if from == fkDateTime {
					return timeOfDay(x.In(s.zone.loc)), true
				}
			}
			return nil, false
		}
		return s.rawText(v, from), true
	}
	return nil, false
}

// rawText is a value as SuiteQL renders it raw, for conversions to text.
func (s *Server) rawText(v any, from fieldKind) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "T"
		}
		return "F"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if from == fkPercent {
			return string(appendPercent(nil, x, s.percentMode))
		}
		return oracleNumber(x)
	case time.Time:
		y, m, d := x.Date()
		if from == fkDateTime {
			y, m, d = x.In(s.zone.loc).Date()
		}
		return string(s.render.dates.appendDate(nil, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()))
	case []int64:
		return joinIDs(x, s.multiSelectSep)
	}
	return fmt.Sprint(v)
}

// timeOfDay renders a wall clock the way Time Of Day fields read: "9:30 am".
func timeOfDay(t time.Time) string {
	h, m := t.Hour(), t.Minute()
	mer := "am"
	if h >= 12 {
		mer = "pm"
	}
	h %= 12
	if h == 0 {
		h = 12
	}
	return fmt.Sprintf("%d:%02d %s", h, m, mer)
}

func joinIDs(ids []int64, sep string) string {
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, sep...)
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// parseIDList reads a multi-select text in any of the renderings the fake
// produces ("1, 2", "1,2", "1\x052").
func parseIDList(s string) ([]int64, bool) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\x05' || r == ' ' })
	if len(fields) == 0 {
		return nil, false
	}
	ids := make([]int64, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, false
		}
		ids[i] = n
	}
	return ids, true
}

// Percent renderings (Options.PercentRendering).
const (
	PercentNumber   = "50"  // the number shown: 50 % reads "50" (default)
	PercentWithSign = "50%" // with the sign: "50%"
	PercentFraction = ".5"  // as a fraction: ".5"; WHERE compares the fraction too
)

// Multiple Select renderings (Options.MultiSelectRendering).
const (
	MultiSelectCommaSpace  = "1, 2, 3"     // default
	MultiSelectComma       = "1,2,3"       // no space
	MultiSelectControlChar = "1\x052\x053" // ids separated by U+0005
)

type percentMode uint8

const (
	pctNumber percentMode = iota
	pctWithSign
	pctFraction
)

func appendPercent(b []byte, f float64, m percentMode) []byte {
	switch m {
	case pctFraction:
		return append(b, oracleNumber(f/100)...)
	case pctWithSign:
		b = append(b, oracleNumber(f)...)
		return append(b, '%')
	}
	return append(b, oracleNumber(f)...)
}
