package schema

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// TestAppendItemAtMatchesAppendAt: a page appended column by column gives the record
// and the errors that appending its rows as maps gives, with a fixed column filled in
// where no row has it and NULL where a row lacks a key.
func TestAppendItemAtMatchesAppendAt(t *testing.T) {
	la := mustLoad(t, "America/Los_Angeles")
	rows := []RawRow{
		{"id": "1", "companyname": "Acme", "isinactive": "T", "balance": ".5", "firstorderdate": "2024-01-15", "lastmodifieddate": "2024-03-10 01:30:00", "custentity_score": "7"},
		{"id": "2", "lastmodifieddate": "2024-11-03 01:30:00"},
		{"lastmodifieddate": "2024-11-03 03:00:00", "id": "3", "balance": "-12.25", "companyname": "Ünïcødé, \"quoted\""},
		{"id": "4", "lastmodifieddate": "2025-01-01 00:00:00", "isinactive": "F", "custentity_score": "0"},
	}
	bad := []RawRow{
		{"id": "5", "lastmodifieddate": "2025-01-01 00:00:00", "isinactive": "Yes"},
		{"lastmodifieddate": "2025-01-01 00:00:00"}, // no key
	}
	for _, fixed := range []RawRow{nil, {"isinactive": "F"}} {
		byMap, byItem := NewBuilder(memory.NewGoAllocator(), testTable, la), NewBuilder(memory.NewGoAllocator(), testTable, la)
		it := ItemsOf(rows)
		for r, row := range rows {
			at, _, _ := WallInstants(row["lastmodifieddate"], la)
			// fixed fills a column only where no row of the page has it; here some do, so
			// a row without it is NULL there, as a map without the key is.
			if err := byMap.AppendAt(row, at); err != nil {
				t.Fatal(err)
			}
			if err := byItem.AppendItemAt(it, r, at, fixed); err != nil {
				t.Fatal(err)
			}
		}
		a, b := byMap.NewRecord(), byItem.NewRecord()
		if !array.RecordEqual(a, b) {
			t.Errorf("fixed %v: column by column\n%v\nwant\n%v", fixed, b, a)
		}
		a.Release()
		b.Release()
		badItems := ItemsOf(bad)
		for r, row := range bad {
			errMap := byMap.AppendAt(row, time.Time{})
			errItem := byItem.AppendItemAt(badItems, r, time.Time{}, fixed)
			var cm, ci *ConversionError
			if !errors.As(errMap, &cm) || !errors.As(errItem, &ci) || *cm != *ci {
				t.Errorf("bad row %d: %v column by column, %v as a map", r, errItem, errMap)
			}
		}
		byMap.Release()
		byItem.Release()
	}
	// A fixed column no row has is filled in.
	b := NewBuilder(memory.NewGoAllocator(), testTable, la)
	defer b.Release()
	it := ItemsOf([]RawRow{{"id": "9", "lastmodifieddate": "2025-01-01 00:00:00"}})
	if err := b.AppendItemAt(it, 0, time.Time{}, RawRow{"isinactive": "T"}); err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecord()
	defer rec.Release()
	col := slices.IndexFunc(testTable.Columns, func(c Column) bool { return c.Name == "isinactive" })
	if v := rec.Column(col).(*array.Boolean); !v.IsValid(0) || !v.Value(0) {
		t.Errorf("fixed isinactive = %v", v)
	}
}
