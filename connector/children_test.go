package connector

import (
	"strings"
	"testing"
	"time"
)

func TestChildQueries(t *testing.T) {
	ab, _ := ChildOf(CustomerAddressBook)
	tb, err := Table(CustomerAddressBook)
	if err != nil {
		t.Fatal(err)
	}
	if tb.PrimaryKey != "internalid" || len(tb.Keys) != 1 || tb.Keys[0] != "entity" || tb.Cursor != "" {
		t.Fatalf("table keys %q %v cursor %q", tb.PrimaryKey, tb.Keys, tb.Cursor)
	}
	if c, _ := tb.Column(ExtractedAtColumn); !c.Derived {
		t.Fatal("no _extracted_at")
	}
	cols := tb.Columns
	scan := ab.ScanQuery(cols, &[2]int64{7, 12})
	for _, want := range []string{
		"SELECT customeraddressbook.entity AS entity, customeraddressbook.internalid AS internalid, customeraddressbook.label AS label,",
		"customeraddressbookentityaddress.city AS city,",
		"TO_CHAR(customeraddressbookentityaddress.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate",
		" FROM customeraddressbook LEFT JOIN customeraddressbookentityaddress ON customeraddressbookentityaddress.nkey = customeraddressbook.addressbookaddress",
		" WHERE (customeraddressbook.entity > 7 OR (customeraddressbook.entity = 7 AND customeraddressbook.internalid > 12))",
		" ORDER BY customeraddressbook.entity, customeraddressbook.internalid",
	} {
		if !strings.Contains(scan, want) {
			t.Errorf("scan query lacks %q:\n%s", want, scan)
		}
	}
	if strings.Contains(scan, "_deleted") || strings.Contains(scan, ExtractedAtColumn) {
		t.Error("derived columns selected")
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	q, err := ab.StampedQuery(cols, time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC), time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC), la)
	if err != nil || !strings.Contains(q, " JOIN customeraddressbookentityaddress ON") || strings.Contains(q, "LEFT JOIN") ||
		!strings.Contains(q, "customeraddressbookentityaddress.lastmodifieddate >= TO_TIMESTAMP('2024-01-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS')") ||
		!strings.HasSuffix(q, "ORDER BY customeraddressbookentityaddress.lastmodifieddate, customeraddressbook.entity, customeraddressbook.internalid") {
		t.Errorf("stamped query: %v\n%s", err, q)
	}
	in, err := ab.LinesOfQuery(cols, []int64{3, 5, 8})
	if err != nil || !strings.Contains(in, "WHERE customeraddressbook.entity IN (3, 5, 8) ORDER BY") {
		t.Errorf("lines-of query: %v\n%s", err, in)
	}
	if _, err := ab.LinesOfQuery(cols, make([]int64, 1001)); err == nil {
		t.Error("1001 parents accepted: SuiteQL takes at most 1000 IN values")
	}
	csr, _ := ChildOf(CustomerSubsidiaryRelationship)
	ctb, _ := Table(CustomerSubsidiaryRelationship)
	if q := csr.ScanQuery(ctb.Columns, nil); strings.Contains(q, "JOIN") || !strings.HasSuffix(q, "FROM customersubsidiaryrelationship ORDER BY customersubsidiaryrelationship.entity, customersubsidiaryrelationship.id") {
		t.Errorf("membership scan: %s", q)
	}
	if !csr.HasStamp(ctb.Columns) || csr.HasStamp(ctb.Columns[:5]) {
		t.Error("HasStamp")
	}
	changed, err := BuildQuery(csr.ChangedParents(), Window{Upper: time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)}, la)
	if err != nil || !strings.HasPrefix(changed, "SELECT customer.id, TO_CHAR(customer.lastmodifieddate") {
		t.Errorf("changed parents: %v %s", err, changed)
	}
}

func TestAddressCustomFieldsGoToAddressBooks(t *testing.T) {
	for _, tc := range []struct {
		f    CustomField
		want int
	}{
		{CustomField{ScriptID: "custrecord_addr_verified", FieldType: "ADDRESS"}, 2},
		{CustomField{ScriptID: "custrecord_addr_verified", FieldType: "Address Field"}, 2},
		{CustomField{ScriptID: "custrecord_region_manager", FieldType: "RECORD"}, 0},
		{CustomField{ScriptID: "custentity_x", FieldType: "ADDRESS"}, 2},
	} {
		if got := len(tc.f.Streams()); got != tc.want {
			t.Errorf("%+v: %d streams, want %d", tc.f, got, tc.want)
		}
	}
}
