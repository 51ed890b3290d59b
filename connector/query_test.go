package connector

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/schema"
)

func mustTable(t *testing.T, name string) schema.Table {
	t.Helper()
	tb, err := Table(name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestStreamsDeclareValidTables(t *testing.T) {
	for _, name := range StreamNames {
		tb := mustTable(t, name)
		if len(tb.Columns) < 15 {
			t.Errorf("%s declares only %d columns", name, len(tb.Columns))
		}
	}
	if _, err := Table("invoice"); err == nil {
		t.Fatal("unknown stream accepted")
	}
}

func TestParseStreams(t *testing.T) {
	got, err := ParseStreams(" Task,customer,task ")
	if err != nil || strings.Join(got, ",") != "task,customer" {
		t.Fatalf("ParseStreams = %v, %v", got, err)
	}
	if all, _ := ParseStreams(""); len(all) != 8 || all[5] != CustomerAddressBook {
		t.Fatalf("empty list = %v", all)
	}
	for _, bad := range []string{"customers", ",", "customer,foo"} {
		if _, err := ParseStreams(bad); err == nil || !strings.Contains(err.Error(), "--streams") {
			t.Errorf("ParseStreams(%q) = %v, want an error naming --streams", bad, err)
		}
	}
}

func TestIDRangeQueries(t *testing.T) {
	tb := schema.Table{Name: "customer", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []schema.Column{
		{Name: "id", Kind: schema.Integer}, {Name: "lastmodifieddate", Kind: schema.DateTime}}}
	w := Window{Upper: time.Date(2024, 7, 1, 19, 0, 0, 0, time.UTC), After: &Keyset{Cursor: "2024-01-02 03:04:05", ID: 7}}
	window := "customer.lastmodifieddate < TO_TIMESTAMP('2024-07-01 19:00:00', 'YYYY-MM-DD HH24:MI:SS') AND " +
		"(customer.lastmodifieddate > TO_TIMESTAMP('2024-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS') OR " +
		"(customer.lastmodifieddate = TO_TIMESTAMP('2024-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS') AND customer.id > 7))"
	cases := []struct {
		ids  *IDRange
		want string
	}{
		{&IDRange{From: 100, Until: 200}, "customer.id >= 100 AND customer.id < 200 AND "},
		{&IDRange{From: math.MinInt64, Until: 200}, "customer.id < 200 AND "},
		{&IDRange{From: -5, Until: math.MaxInt64}, "customer.id >= -5 AND "},
		{&IDRange{From: math.MinInt64, Until: math.MaxInt64}, ""},
		{nil, ""},
	}
	for _, c := range cases {
		q := Query{Table: tb, IDs: c.ids}
		got, err := BuildQuery(q, w, time.UTC)
		want := "SELECT customer.id, TO_CHAR(customer.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate FROM customer WHERE " +
			c.want + window + " ORDER BY customer.lastmodifieddate, customer.id"
		if err != nil || got != want {
			t.Errorf("%+v:\n got %s (%v)\nwant %s", c.ids, got, err, want)
		}
		for _, last := range []bool{false, true} {
			got, err := IDBoundQuery(q, w, time.UTC, last)
			want := "SELECT customer.id FROM customer WHERE " + c.want + window + " ORDER BY customer.id"
			if last {
				want += " DESC"
			}
			if err != nil || got != want {
				t.Errorf("bound %+v last=%v:\n got %s (%v)\nwant %s", c.ids, last, got, err, want)
			}
		}
	}
	if _, err := BuildQuery(Query{Table: tb, IDs: &IDRange{From: 5, Until: 5}}, w, time.UTC); err == nil {
		t.Error("an empty id range was accepted")
	}
}

func TestCountQuery(t *testing.T) {
	tb := schema.Table{Name: "task", PrimaryKey: "id", Cursor: "lastmodifieddate"}
	if got, want := CountQuery(Query{Table: tb}), "SELECT task.id FROM task ORDER BY task.id"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// Ranges and windows are not part of it: it counts the whole table a first pass reads.
	q := Query{Table: tb, Filter: "task.status = 'OPEN'", IDs: &IDRange{From: 1, Until: 9}}
	if got, want := CountQuery(q), "SELECT task.id FROM task WHERE task.status = 'OPEN' ORDER BY task.id"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestBuildQuery(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	tb := schema.Table{Name: "contact", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []schema.Column{
		{Name: "id", Kind: schema.Integer}, {Name: "email", Kind: schema.Text}, {Name: "title", Kind: schema.Text},
		{Name: "birthday", Kind: schema.Date}, {Name: "lastmodifieddate", Kind: schema.DateTime},
	}}
	upper := time.Date(2024, 7, 1, 19, 0, 0, 0, time.UTC)
	lower := time.Date(2024, 1, 15, 18, 30, 5, 0, time.UTC)
	cases := []struct {
		name string
		w    Window
		cols []schema.Column // instead of tb's
		want string
	}{
		{
			name: "first pass",
			w:    Window{Upper: upper},
			want: "SELECT contact.id, contact.email, contact.title, TO_CHAR(contact.birthday, 'YYYY-MM-DD') AS birthday, " +
				"TO_CHAR(contact.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate FROM contact " +
				"WHERE contact.lastmodifieddate < TO_TIMESTAMP('2024-07-01 12:00:00', 'YYYY-MM-DD HH24:MI:SS') " +
				"ORDER BY contact.lastmodifieddate, contact.id",
		},
		{
			name: "bounded, after a keyset position, with custom fields, one renamed",
			w:    Window{Lower: lower, Upper: upper, After: &Keyset{Cursor: "2024-03-10 03:00:00", ID: 42}},
			cols: []schema.Column{
				{Name: "id", Kind: schema.Integer}, {Name: "lastmodifieddate", Kind: schema.DateTime},
				{Name: "custentity_tags", Kind: schema.IntegerList, Custom: true},
				{Name: "custentity_score__float", Field: "custentity_score", Kind: schema.Float, Custom: true},
				{Name: "custentity_due__date", Field: "custentity_due", Kind: schema.Date, Custom: true},
				{Name: "_deleted", Kind: schema.Bool, Derived: true},
			},
			want: "SELECT contact.id, TO_CHAR(contact.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate, " +
				"contact.custentity_tags, contact.custentity_score AS custentity_score__float, " +
				"TO_CHAR(contact.custentity_due, 'YYYY-MM-DD') AS custentity_due__date FROM contact " +
				"WHERE contact.lastmodifieddate >= TO_TIMESTAMP('2024-01-15 10:30:05', 'YYYY-MM-DD HH24:MI:SS') " +
				"AND contact.lastmodifieddate < TO_TIMESTAMP('2024-07-01 12:00:00', 'YYYY-MM-DD HH24:MI:SS') " +
				"AND (contact.lastmodifieddate > TO_TIMESTAMP('2024-03-10 03:00:00', 'YYYY-MM-DD HH24:MI:SS') " +
				"OR (contact.lastmodifieddate = TO_TIMESTAMP('2024-03-10 03:00:00', 'YYYY-MM-DD HH24:MI:SS') AND contact.id > 42)) " +
				"ORDER BY contact.lastmodifieddate, contact.id",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := tb
			if tc.cols != nil {
				table.Columns = tc.cols
			}
			got, err := BuildQuery(Query{Table: table}, tc.w, la)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := BuildQuery(Query{Table: tb}, Window{Upper: upper, After: &Keyset{Cursor: "2024-01-01' OR 1=1 --", ID: 1}}, la); err == nil {
		t.Fatal("a cursor that is not a datetime reached the query")
	}
	if _, err := BuildQuery(Query{Table: tb}, Window{}, la); err == nil {
		t.Fatal("a window without an upper bound was accepted")
	}
}

func TestParseSessionZone(t *testing.T) {
	at := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	cases := map[string]int{"America/Los_Angeles": -8 * 3600, "US/Pacific": -8 * 3600, "-08:00": -8 * 3600, "+05:30": 5*3600 + 1800, "+00:00": 0, "UTC": 0, " Europe/Berlin ": 3600}
	for in, want := range cases {
		loc, err := ParseSessionZone(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if _, off := at.In(loc).Zone(); off != want {
			t.Errorf("%q: offset %d, want %d", in, off, want)
		}
	}
	for _, bad := range []string{"", "Mars/Olympus", "+25:00", "8"} {
		if _, err := ParseSessionZone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSafeBoundAvoidsRepeatedHour(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	cases := []struct {
		in   time.Time
		want time.Time
	}{
		// Ordinary instant: unchanged, truncated to the second.
		{time.Date(2024, 7, 1, 19, 0, 0, 900, time.UTC), time.Date(2024, 7, 1, 19, 0, 0, 0, time.UTC)},
		// 01:30 PST on 3 Nov 2024 (second occurrence) is 09:30Z; 01:30 PDT is 08:30Z. The nearest
		// earlier unambiguous instant is 00:59:59 PDT or before: 07:30Z (00:30 PDT).
		{time.Date(2024, 11, 3, 9, 30, 0, 0, time.UTC), time.Date(2024, 11, 3, 7, 30, 0, 0, time.UTC)},
		{time.Date(2024, 11, 3, 8, 15, 0, 0, time.UTC), time.Date(2024, 11, 3, 7, 45, 0, 0, time.UTC)},
		// Just after the repeated hour (02:00 PST) is unambiguous.
		{time.Date(2024, 11, 3, 10, 0, 0, 0, time.UTC), time.Date(2024, 11, 3, 10, 0, 0, 0, time.UTC)},
		// Spring forward creates no ambiguity.
		{time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC), time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		got := SafeBound(tc.in, la)
		if !got.Equal(tc.want) {
			t.Errorf("SafeBound(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if ambiguous(got, la) {
			t.Errorf("SafeBound(%s) = %s is still ambiguous", tc.in, got)
		}
	}
}

func TestOverlapOf(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	o, ok := OverlapOf("2024-11-03 01:17:00", la)
	if !ok || !o.Start.Equal(time.Date(2024, 11, 3, 8, 0, 0, 0, time.UTC)) || !o.End.Equal(time.Date(2024, 11, 3, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("OverlapOf = %+v, %v; want 08:00Z–10:00Z", o, ok)
	}
	for _, wall := range []string{"2024-11-03 00:59:59", "2024-11-03 02:00:00", "2024-03-10 03:00:00"} {
		if _, ok := OverlapOf(wall, la); ok {
			t.Errorf("%s is not in a repeated hour", wall)
		}
	}
	// The overlap's own bounds render as unambiguous literals.
	tb := mustTable(t, Task)
	q, err := BuildQuery(Query{Table: tb}, Window{Lower: o.Start, Upper: o.End}, la)
	if err != nil {
		t.Fatal(err)
	}
	want := "WHERE task.lastmodifieddate > TO_TIMESTAMP('2024-11-03 00:59:59', 'YYYY-MM-DD HH24:MI:SS') AND task.lastmodifieddate < TO_TIMESTAMP('2024-11-03 02:00:00', 'YYYY-MM-DD HH24:MI:SS')"
	if !strings.Contains(q, want) {
		t.Fatalf("query %s\nlacks %s", q, want)
	}
}

func TestStreamsCarryDeletedColumnNotSelected(t *testing.T) {
	tb := mustTable(t, Contact)
	c, ok := tb.Column(DeletedColumn)
	if !ok || !c.Derived || c.Kind != schema.Bool {
		t.Fatalf("contact has no derived %s column: %+v", DeletedColumn, c)
	}
	q, err := BuildQuery(Query{Table: tb}, Window{Upper: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, time.UTC)
	if err != nil || strings.Contains(q, DeletedColumn) {
		t.Fatalf("query selects the derived column: %s %v", q, err)
	}
}

func TestDeletionsQuery(t *testing.T) {
	for _, s := range StreamNames {
		q, err := Deletions(s)
		if err != nil {
			t.Fatal(err)
		}
		sql, err := BuildQuery(q, Window{Upper: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		want := "FROM deletedrecord WHERE deletedrecord.type IN ('" + s + "'"
		if !strings.Contains(sql, want) || !strings.HasSuffix(sql, "ORDER BY deletedrecord.deleteddate, deletedrecord.recordid") {
			t.Errorf("%s: %s", s, sql)
		}
	}
	if _, err := Deletions("invoice"); err == nil {
		t.Error("unknown stream accepted")
	}
}

func TestAllDeletionsQuery(t *testing.T) {
	q, err := AllDeletions([]string{Customer, Task})
	if err != nil {
		t.Fatal(err)
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	upper := time.Date(2024, 7, 1, 19, 0, 0, 0, time.UTC)
	sql, err := BuildQuery(q, Window{Upper: upper, After: &Keyset{Cursor: "2024-03-10 03:00:00", ID: 42, Tie: "task"}}, la)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT deletedrecord.recordid, deletedrecord.type, TO_CHAR(deletedrecord.deleteddate, 'YYYY-MM-DD HH24:MI:SS') AS deleteddate " +
		"FROM deletedrecord WHERE deletedrecord.type IN ('customer', 'Customer', 'CUSTOMER', 'custjob', 'CustJob', 'CUSTJOB', 'task', 'Task', 'TASK') " +
		"AND deletedrecord.deleteddate < TO_TIMESTAMP('2024-07-01 12:00:00', 'YYYY-MM-DD HH24:MI:SS') " +
		"AND (deletedrecord.deleteddate > TO_TIMESTAMP('2024-03-10 03:00:00', 'YYYY-MM-DD HH24:MI:SS') " +
		"OR (deletedrecord.deleteddate = TO_TIMESTAMP('2024-03-10 03:00:00', 'YYYY-MM-DD HH24:MI:SS') " +
		"AND (deletedrecord.recordid > 42 OR (deletedrecord.recordid = 42 AND deletedrecord.type > 'task')))) " +
		"ORDER BY deletedrecord.deleteddate, deletedrecord.recordid, deletedrecord.type"
	if sql != want {
		t.Fatalf("got\n%s\nwant\n%s", sql, want)
	}
	// A position without a tie (a per-stream pass of an earlier version) continues after
	// every row with its cursor and id.
	sql, err = BuildQuery(q, Window{Upper: upper, After: &Keyset{Cursor: "2024-03-10 03:00:00", ID: 42}}, la)
	if err != nil || !strings.Contains(sql, "AND deletedrecord.recordid > 42)) ORDER BY") {
		t.Fatalf("tie-less keyset: %s %v", sql, err)
	}
	if _, err := BuildQuery(q, Window{Upper: upper, After: &Keyset{Cursor: "2024-03-10 03:00:00", ID: 42, Tie: "x' OR 1=1 --"}}, la); err == nil {
		t.Fatal("a tie-breaker that is not a name reached the query")
	}
	if _, err := AllDeletions(nil); err == nil {
		t.Error("no stream accepted")
	}
	if _, err := AllDeletions([]string{Customer, CustomerAddressBook}); err == nil {
		t.Error("a child stream accepted")
	}
}

func TestDeletedStreamSpellingsAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, s := range StreamNames {
		for _, typ := range deletedTypes[s] {
			if other, dup := seen[typ]; dup {
				t.Errorf("type %q stands for %s and %s", typ, other, s)
			}
			seen[typ] = s
			if got, ok := DeletedStream(typ); !ok || got != s {
				t.Errorf("DeletedStream(%q) = %q, %v; want %s", typ, got, ok, s)
			}
		}
	}
	if _, ok := DeletedStream("invoice"); ok {
		t.Error("an unknown type maps to a stream")
	}
}

func TestKeysetAfter(t *testing.T) {
	k := func(c string, id int64, tie string) Keyset { return Keyset{Cursor: c, ID: id, Tie: tie} }
	cases := []struct {
		a, b Keyset
		want bool
	}{
		{k("2024-01-01 00:00:01", 1, ""), k("2024-01-01 00:00:00", 9, ""), true},
		{k("2024-01-01 00:00:00", 2, ""), k("2024-01-01 00:00:00", 1, ""), true},
		{k("2024-01-01 00:00:00", 1, ""), k("2024-01-01 00:00:00", 1, ""), false},
		{k("2024-01-01 00:00:00", 1, "task"), k("2024-01-01 00:00:00", 1, "customer"), true},
		{k("2024-01-01 00:00:00", 1, "customer"), k("2024-01-01 00:00:00", 1, "task"), false},
		// No tie: after every row with that cursor and id.
		{k("2024-01-01 00:00:00", 1, "task"), k("2024-01-01 00:00:00", 1, ""), false},
		{k("2024-01-01 00:00:00", 0, "task"), k("2024-01-01 00:00:00", 1, "customer"), false},
	}
	for _, tc := range cases {
		if got := tc.a.After(tc.b); got != tc.want {
			t.Errorf("%+v.After(%+v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
