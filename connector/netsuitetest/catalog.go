package netsuitetest

// ColumnType is the SuiteQL type of a catalog column as the fake models it.
type ColumnType string

// The column types the fake knows. Every value still travels as a JSON string
// on the wire; the type decides how it is compared, sorted and rendered.
const (
	TypeText     ColumnType = "text"
	TypeInteger  ColumnType = "integer"
	TypeFloat    ColumnType = "float"
	TypeBool     ColumnType = "bool"
	TypeDate     ColumnType = "date"
	TypeDatetime ColumnType = "datetime"
)

// Column is one column of a table. Type is the SQL type the fake compares and
// sorts it as; ValueType is the customfield.fieldvaluetype of a custom field
// ("" for a standard column).
type Column struct {
	Name      string
	Type      ColumnType
	ValueType string
}

// tableDef is the static description of a SuiteQL table.
type tableDef struct {
	name string
	cols []Column
	// key lists the columns that make a row unique. An ORDER BY that names all
	// of them is deterministic; anything else gets random tie-breaking.
	key []string
	// child marks the tables whose rows belong to a customer or contact
	// (address books, addresses, subsidiary memberships, children.go): they
	// are generated with their parents and changed through the mutations of
	// children.go, not through Rows, fixtures, Upsert or Delete.
	child bool
}

// dualTable is Oracle's one-row pseudo table; it has no catalog columns and
// only SESSIONTIMEZONE may be selected from it.
const dualTable = "dual"

func col(name string, t ColumnType) Column { return Column{Name: name, Type: t} }

// catalog lists every table the fake serves, in the column order that
// SELECT * and Columns return. Anything not listed is an unknown identifier.
var catalog = []tableDef{
	{
		name: "customer",
		key:  []string{"id"},
		cols: []Column{
			col("id", TypeInteger), col("entityid", TypeText), col("externalid", TypeText),
			col("companyname", TypeText), col("altname", TypeText), col("firstname", TypeText),
			col("lastname", TypeText), col("isperson", TypeBool), col("email", TypeText),
			col("phone", TypeText), col("isinactive", TypeBool), col("parent", TypeInteger),
			col("currency", TypeInteger), col("defaultbillingaddress", TypeInteger),
			col("defaultshippingaddress", TypeInteger), col("receivablesaccount", TypeInteger),
			col("firstorderdate", TypeDate), col("datecreated", TypeDatetime),
			col("lastmodifieddate", TypeDatetime), col("subsidiary", TypeInteger),
			col("entitystatus", TypeInteger), col("salesrep", TypeInteger), col("terms", TypeInteger),
			col("category", TypeInteger), col("balance", TypeFloat), col("creditlimit", TypeFloat),
		},
	},
	{
		name: "contact",
		key:  []string{"id"},
		cols: []Column{
			col("id", TypeInteger), col("entityid", TypeText), col("firstname", TypeText),
			col("lastname", TypeText), col("email", TypeText), col("phone", TypeText),
			col("company", TypeInteger), col("title", TypeText), col("subsidiary", TypeInteger),
			col("isinactive", TypeBool), col("datecreated", TypeDatetime),
			col("lastmodifieddate", TypeDatetime), col("supervisor", TypeInteger),
			col("contactsource", TypeInteger), col("externalid", TypeText),
			col("defaultbillingaddress", TypeInteger), col("defaultshippingaddress", TypeInteger),
		},
	},
	{
		name: "calendarevent",
		key:  []string{"id"},
		cols: []Column{
			col("id", TypeInteger), col("title", TypeText), col("status", TypeText),
			col("startdate", TypeDate), col("starttime", TypeDatetime), col("endtime", TypeDatetime),
			col("alldayevent", TypeBool), col("timedevent", TypeBool), col("accesslevel", TypeText),
			col("organizer", TypeInteger), col("owner", TypeInteger), col("company", TypeInteger),
			col("contact", TypeInteger), col("location", TypeText), col("message", TypeText),
			col("createddate", TypeDatetime), col("lastmodifieddate", TypeDatetime),
			col("supportcase", TypeInteger), col("transaction", TypeInteger), col("externalid", TypeText),
		},
	},
	{
		name: "task",
		key:  []string{"id"},
		cols: []Column{
			col("id", TypeInteger), col("title", TypeText), col("status", TypeText),
			col("priority", TypeText), col("assigned", TypeInteger), col("owner", TypeInteger),
			col("company", TypeInteger), col("contact", TypeInteger), col("startdate", TypeDate),
			col("duedate", TypeDate), col("completeddate", TypeDate), col("starttime", TypeDatetime),
			col("endtime", TypeDatetime), col("timedevent", TypeBool), col("message", TypeText),
			col("percentcomplete", TypeFloat), col("accesslevel", TypeText),
			col("createddate", TypeDatetime), col("lastmodifieddate", TypeDatetime),
			col("externalid", TypeText), col("supportcase", TypeInteger), col("transaction", TypeInteger),
		},
	},
	{
		name: "phonecall",
		key:  []string{"id"},
		cols: []Column{
			col("id", TypeInteger), col("title", TypeText), col("phone", TypeText),
			col("status", TypeText), col("priority", TypeText), col("assigned", TypeInteger),
			col("owner", TypeInteger), col("company", TypeInteger), col("contact", TypeInteger),
			col("startdate", TypeDate), col("enddate", TypeDate), col("starttime", TypeDatetime),
			col("endtime", TypeDatetime), col("completeddate", TypeDate), col("message", TypeText),
			col("accesslevel", TypeText), col("createddate", TypeDatetime),
			col("lastmodifieddate", TypeDatetime), col("externalid", TypeText),
			col("supportcase", TypeInteger), col("transaction", TypeInteger),
		},
	},
	{
		name: "deletedrecord",
		// hotglue's primary key for this table; it has no id column.
		key: []string{"recordid", "recordtypeid", "scriptid"},
		cols: []Column{
			col("recordid", TypeInteger), col("recordtypeid", TypeInteger), col("name", TypeText),
			col("scriptid", TypeText), col("type", TypeText), col("context", TypeText),
			col("deletedby", TypeInteger), col("deleteddate", TypeDatetime),
			col("iscustomlist", TypeBool), col("iscustomrecord", TypeBool),
			col("iscustomtransaction", TypeBool),
		},
	},
	// Address books (../shared/netsuite-api.md §10.2): one line per address of
	// an entity, and the address itself keyed by nkey. entityaddress holds every
	// address of both books under the same nkeys.
	{name: "customeraddressbook", key: []string{"entity", "internalid"}, child: true, cols: addressBookColumns},
	{name: "customeraddressbookentityaddress", key: []string{"nkey"}, child: true, cols: addressColumns},
	{name: "contactaddressbook", key: []string{"entity", "internalid"}, child: true, cols: addressBookColumns},
	{name: "contactaddressbookentityaddress", key: []string{"nkey"}, child: true, cols: addressColumns},
	{name: "entityaddress", key: []string{"nkey"}, child: true, cols: addressColumns},
	// Subsidiary memberships of customers (§10.3), OneWorld accounts only.
	{name: subsidiaryTable, key: []string{"id"}, child: true, cols: []Column{
		col("id", TypeInteger), col("entity", TypeInteger), col("subsidiary", TypeInteger),
		col("isprimarysub", TypeBool), col("primarycurrency", TypeInteger), col("lastmodifieddate", TypeDatetime),
	}},
}

var addressBookColumns = []Column{
	col("entity", TypeInteger), col("internalid", TypeInteger), col("label", TypeText),
	col("defaultbilling", TypeBool), col("defaultshipping", TypeBool), col("addressbookaddress", TypeInteger),
}

var addressColumns = []Column{
	col("nkey", TypeInteger), col("addressee", TypeText), col("attention", TypeText),
	col("addr1", TypeText), col("addr2", TypeText), col("addr3", TypeText), col("addrphone", TypeText),
	col("addrtext", TypeText), col("city", TypeText), col("state", TypeText), col("dropdownstate", TypeText),
	col("zip", TypeText), col("country", TypeText), col("override", TypeBool), col("recordowner", TypeInteger),
	col("lastmodifieddate", TypeDatetime),
}

// subsidiaryTable is customersubsidiaryrelationship.
const subsidiaryTable = "customersubsidiaryrelationship"

// addressTables are the tables Options.NoAddressPermission empties.
var addressTables = map[string]bool{
	"customeraddressbook": true, "customeraddressbookentityaddress": true,
	"contactaddressbook": true, "contactaddressbookentityaddress": true, "entityaddress": true,
}

// addressFieldTables are the tables whose columns address custom fields
// (CustomField.AddressField) are, in this order.
var addressFieldTables = []string{"customeraddressbookentityaddress", "contactaddressbookentityaddress", "entityaddress"}

// Tables lists the names of the catalogued record tables (excluding DUAL,
// customfield, whose rows come from Options.CustomFields, and the child
// tables of ChildTables) in a stable order, e.g. for callers that want to
// load or generate all of them.
func Tables() []string {
	var out []string
	for _, t := range catalog {
		if !t.child {
			out = append(out, t.name)
		}
	}
	return out
}

// ChildTables lists the tables whose rows belong to a customer or contact:
// the address books and their addresses, entityaddress and
// customersubsidiaryrelationship. They are generated with their parents
// (Options.Rows of customer and contact) and changed with the mutations of
// children.go (AddAddressLine, AddSubsidiary, …).
func ChildTables() []string {
	var out []string
	for _, t := range catalog {
		if t.child {
			out = append(out, t.name)
		}
	}
	return out
}

func lookupTableDef(name string) (*tableDef, bool) {
	for i := range catalog {
		if catalog[i].name == name {
			return &catalog[i], true
		}
	}
	return nil, false
}
