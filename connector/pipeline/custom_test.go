package pipeline

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// fileSchemas reads the Arrow schema of each committed Parquet file of a stream, in
// file (time) order.
func (h *harness) fileSchemas(stream string) []*arrow.Schema {
	h.t.Helper()
	files, _ := sinktest.Glob(h.out, stream, "*.parquet")
	sort.Strings(files)
	var out []*arrow.Schema
	for _, f := range files {
		rdr, err := file.OpenParquetFile(f, false)
		if err != nil {
			h.t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			h.t.Fatal(err)
		}
		s, err := fr.Schema()
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, s)
		rdr.Close()
	}
	return out
}

// fieldMetadata reads the column facts the sink keeps in a Parquet file's key-value
// metadata (sink.MetaFields), by column name.
func fieldMetadata(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	v := rdr.MetaData().KeyValueMetadata().FindValue(sink.MetaFields)
	if v == nil {
		t.Fatalf("%s has no %s", path, sink.MetaFields)
	}
	var fields []struct {
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(*v), &fields); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, f := range fields {
		out[f.Name] = f.Metadata
	}
	return out
}

// nextSecond waits until NetSuite's clock has passed the second in which the test
// changed records: a run's upper bound is exclusive at whole seconds, so a change in the
// run's own first second belongs to the next run.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
}

// oneTypePerName fails when a column name has two types across a stream's files: a
// reader merging files by name (DuckDB union_by_name, Spark mergeSchema) would fail or
// coerce.
func (h *harness) oneTypePerName(stream string) {
	h.t.Helper()
	seen := map[string]string{}
	for _, s := range h.fileSchemas(stream) {
		for _, f := range s.Fields() {
			typ := f.Type.String()
			if old, ok := seen[f.Name]; ok && old != typ {
				h.t.Fatalf("%s.%s is %s in one file and %s in another", stream, f.Name, old, typ)
			}
			seen[f.Name] = typ
		}
	}
}

func customOpts(rows int, seed int64) netsuitetest.Options {
	return netsuitetest.Options{Rows: rowsPerStream(rows), Seed: seed, CustomFields: netsuitetest.StandardCustomFields()}
}

// TestCustomFieldsFullAndIncremental: custom fields of every value type are extracted,
// typed by fieldvaluetype, in Parquet and NDJSON, and every cell equals NetSuite's, after
// a full run and after an incremental one. A field listed but not served is dropped with
// NetSuite's reason, a non-stored one is not asked for, an unknown value type is text. The
// catalog is read once and reused by the next run within the hour.
func TestCustomFieldsFullAndIncremental(t *testing.T) {
	for _, format := range []sink.Format{sink.Parquet, sink.NDJSON} {
		t.Run(string(format), func(t *testing.T) {
			h := newHarness(t, customOpts(1100, 31))
			h.format = format
			res := h.mustRun(connector.StreamNames, Options{})
			if res.CustomFields.Fields != 42 || res.CustomFields.Cached || res.CustomFields.Requests != 1 {
				t.Fatalf("catalog = %+v, want 42 fields of the five records and the address books read with one request", res.CustomFields)
			}
			for _, s := range res.Streams {
				h.assertMatchesTruth(s.Stream)
				if s.CustomColumns != 18 {
					t.Errorf("%s: %d custom columns, want 18", s.Stream, s.CustomColumns)
				}
				notServed := map[string]string{connector.Customer: "custentity_legacy_code", connector.Contact: "custentity_legacy_code"}[s.Stream]
				if notServed == "" {
					notServed = "custevent_internal_ref"
				}
				if len(s.DroppedColumns) != 1 || s.DroppedColumns[0].Column != notServed || !strings.Contains(s.DroppedColumns[0].Reason, "NOT_EXPOSED") {
					t.Errorf("%s: dropped %+v, want %s (NOT_EXPOSED)", s.Stream, s.DroppedColumns, notServed)
				}
				if len(s.SkippedColumns) != 1 || !strings.Contains(s.SkippedColumns[0].Reason, "not stored") {
					t.Errorf("%s: skipped %+v, want the non-stored field", s.Stream, s.SkippedColumns)
				}
			}
			if format == sink.Parquet {
				s := h.fileSchemas(connector.Customer)[0]
				want := map[string]string{
					"custentity_vip": "bool", "custentity_employee_count": "int64", "custentity_discount_rate": "float64",
					"custentity_commission_pct": "float64", "custentity_renewal_date": "date32", "custentity_last_contacted": "timestamp[us, tz=UTC]",
					"custentity_call_time": "utf8", "custentity_region": "int64", "custentity_nickname": "utf8", "custentitylocation": "utf8",
				}
				for name, typ := range want {
					idx := s.FieldIndices(name)
					if len(idx) != 1 || s.Field(idx[0]).Type.String() != typ {
						t.Errorf("%s: %v, want %s", name, idx, typ)
						continue
					}
				}
				files, _ := sinktest.Glob(h.out, connector.Customer, "*.parquet")
				meta := fieldMetadata(t, files[0])
				for name := range want {
					if meta[name][schema.MetaCustom] != "true" || meta[name][schema.MetaLabel] == "" || meta[name][schema.MetaValueType] == "" {
						t.Errorf("%s metadata %v, want custom, label and value type", name, meta[name])
					}
				}
				if m := meta["companyname"]; m[schema.MetaCustom] != "" || m[schema.MetaKind] != "text" {
					t.Errorf("companyname metadata %v", m)
				}
				f := s.Field(s.FieldIndices("custentity_product_lines")[0])
				lt, ok := f.Type.(*arrow.ListType)
				if !ok || lt.Elem().ID() != arrow.INT64 {
					t.Errorf("multiple select is %s, want list<int64>", f.Type)
				}
				if vt := meta["custentity_product_lines"][schema.MetaValueType]; vt != "Multiple Select" {
					t.Errorf("value type %q", vt)
				}
			}

			// Edits, including custom values of every kind, then an incremental run.
			at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
			h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(5), "custentity_vip": true, "custentity_product_lines": []int64{3, 1, 2},
				"custentity_renewal_date": time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), "custentity_last_contacted": at,
				"custentity_nickname": "Zoë “the closer”\nline two", "custentity_commission_pct": 12.5, "custentity_employee_count": int64(-3)})
			h.srv.Upsert(connector.Task, netsuitetest.Row{"id": int64(7), "custevent_topics": []int64{42}, "custevent_billable": false,
				"custevent_cost": -0.25, "custevent_outcome": nil})
			nextSecond()
			res = h.mustRun(connector.StreamNames, Options{})
			if !res.CustomFields.Cached || res.CustomFields.Requests != 0 {
				t.Errorf("second run read the catalog again: %+v", res.CustomFields)
			}
			for _, s := range res.Streams {
				h.assertMatchesTruth(s.Stream)
				if s.SchemaChange != "" {
					t.Errorf("%s: schema change %q on a run that changed nothing", s.Stream, s.SchemaChange)
				}
				// The refused column is remembered: the second run does not ask for it.
				if len(s.DroppedColumns) != 1 || s.DroppedColumns[0].New {
					t.Errorf("%s: dropped %+v, want one remembered", s.Stream, s.DroppedColumns)
				}
			}
		})
	}
}

// TestRefusedColumnsAreRememberedAndAskedAgain: an account that refuses one standard and
// one custom column completes with both dropped and everything else equal; the next run
// pays one query per table (no re-discovery); a full refresh asks again.
func TestRefusedColumnsAreRememberedAndAskedAgain(t *testing.T) {
	opts := customOpts(1500, 32)
	opts.Rejections = map[string]map[string]netsuitetest.Rejection{
		connector.CalendarEvent: {"supportcase": netsuitetest.NotExposed, "custevent_reference": netsuitetest.UnknownIdentifier},
	}
	h := newHarness(t, opts)
	streams := []string{connector.CalendarEvent}
	res := h.mustRun(streams, Options{})
	var got []string
	for _, d := range res.Streams[0].DroppedColumns {
		got = append(got, d.Column)
	}
	slices.Sort(got)
	if want := []string{"custevent_internal_ref", "custevent_reference", "supportcase"}; !slices.Equal(got, want) {
		t.Fatalf("dropped %v, want %v", got, want)
	}
	h.absent[connector.CalendarEvent] = []string{"supportcase", "custevent_reference"}
	h.assertMatchesTruth(connector.CalendarEvent)
	st, _ := state.Load(h.statePath)
	if d := st.Schemas[connector.CalendarEvent].Dropped["supportcase"]; !strings.Contains(d.Reason, "NOT_EXPOSED") || d.Since.IsZero() {
		t.Fatalf("state remembers supportcase as %+v", d)
	}

	h.srv.ResetStats()
	nextSecond()
	res = h.mustRun(streams, Options{})
	if n := h.srv.Stats().SuiteQLRequests[connector.CalendarEvent]; n != 1 || res.Streams[0].Requests != 1 || res.DeletionRequests != 1 {
		t.Fatalf("quiet run: %d queries to calendarevent (%d counted), %d for deletions; want 1 (1), 1", n, res.Streams[0].Requests, res.DeletionRequests)
	}

	h.srv.SetRejection(connector.CalendarEvent, "supportcase", netsuitetest.NoRejection)
	h.srv.ResetStats()
	res = h.mustRun(streams, Options{FullRefresh: true})
	if len(res.Streams[0].DroppedColumns) != 2 {
		t.Fatalf("full refresh dropped %+v, want the two still refused", res.Streams[0].DroppedColumns)
	}
	if !strings.Contains(res.Streams[0].SchemaChange, "+supportcase (integer)") {
		t.Errorf("schema change %q, want supportcase back", res.Streams[0].SchemaChange)
	}
	if res.CustomFields.Cached {
		t.Error("a full refresh reused the cached catalog")
	}
	h.absent[connector.CalendarEvent] = []string{"custevent_reference"}
	h.assertMatchesTruth(connector.CalendarEvent)
}

// TestRefusalWordingsBothWays runs a full extract under each of the fake's guesses about
// how NetSuite words a refusal and renders custom values, and expects the same truth.
func TestRefusalWordingsBothWays(t *testing.T) {
	cases := map[string]func(*netsuitetest.Options){
		"qualified names":           func(o *netsuitetest.Options) { o.QualifiedNamesInErrors = true },
		"quoted available names":    func(o *netsuitetest.Options) { o.QuoteAvailableIdentifiers = true },
		"last refused named":        func(o *netsuitetest.Options) { o.NameLastRejected = true },
		"non-stored refused by 500": func(o *netsuitetest.Options) { o.NonStoredRejection = netsuitetest.UnexpectedError },
		"upper-case scriptids, no fieldvaluetyperecord": func(o *netsuitetest.Options) {
			o.UpperCaseScriptIDs, o.NoFieldValueTypeRecord, o.ActivityFieldType = true, true, "EVENT"
		},
		"ids joined by commas": func(o *netsuitetest.Options) { o.MultiSelectRendering = netsuitetest.MultiSelectComma },
		"ids joined by U+0005": func(o *netsuitetest.Options) { o.MultiSelectRendering = netsuitetest.MultiSelectControlChar },
		"percent with a sign":  func(o *netsuitetest.Options) { o.PercentRendering = netsuitetest.PercentWithSign },
		"dates in D/M/YYYY":    func(o *netsuitetest.Options) { o.DateFormat = "D/M/YYYY" },
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			opts := customOpts(300, 33)
			opts.Rejections = map[string]map[string]netsuitetest.Rejection{
				connector.Customer: {"salesrep": netsuitetest.NotExposed, "custentity_website": netsuitetest.UnknownIdentifier},
			}
			set(&opts)
			h := newHarness(t, opts)
			streams := []string{connector.Customer, connector.Task}
			res := h.mustRun(streams, Options{})
			h.absent[connector.Customer] = []string{"salesrep", "custentity_website"}
			for _, s := range streams {
				h.assertMatchesTruth(s)
			}
			if len(res.Streams[0].DroppedColumns) != 3 {
				t.Errorf("customer dropped %+v, want salesrep, custentity_website and the unserved field", res.Streams[0].DroppedColumns)
			}
		})
	}
}

// TestSchemaChangesBetweenRuns: a custom field added in NetSuite appears as a new column
// from the next file on; one removed disappears with a warning; the summary says so; and
// no column name has two types across the stream's files.
func TestSchemaChangesBetweenRuns(t *testing.T) {
	h := newHarness(t, customOpts(500, 34))
	streams := []string{connector.Customer}
	h.mustRun(streams, Options{})

	h.srv.AddCustomField(netsuitetest.CustomField{ScriptID: "custentity_tier", Label: "Tier", ValueType: "Free-Form Text"})
	h.srv.RemoveCustomField("custentity_nickname")
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(9), "custentity_tier": "Gold"})
	nextSecond()
	res := h.mustRun(streams, Options{CustomFieldsTTL: time.Nanosecond})
	if got := res.Streams[0].SchemaChange; got != "+custentity_tier (text), −custentity_nickname" {
		t.Fatalf("schema change %q", got)
	}
	schemas := h.fileSchemas(connector.Customer)
	if len(schemas) != 2 || len(schemas[0].FieldIndices("custentity_tier")) != 0 || len(schemas[1].FieldIndices("custentity_tier")) != 1 ||
		len(schemas[1].FieldIndices("custentity_nickname")) != 0 {
		t.Fatalf("file schemas: %d files; want the new column in the second file only and the removed one gone", len(schemas))
	}
	rows, _ := h.outputRows(connector.Customer)
	if rows[9]["custentity_tier"] != "Gold" {
		t.Fatalf("id 9 tier = %#v", rows[9]["custentity_tier"])
	}

	// Removed while the cached catalog still lists it: NetSuite refuses it, the run
	// drops it and goes on.
	h.srv.RemoveCustomField("custentity_notes")
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(10), "companyname": "Changed"})
	nextSecond()
	res = h.mustRun(streams, Options{})
	if d := res.Streams[0].DroppedColumns; len(d) != 2 || !slices.ContainsFunc(d, func(c DroppedColumn) bool { return c.Column == "custentity_notes" && c.New }) {
		t.Fatalf("dropped %+v, want custentity_notes refused now", d)
	}
	if got := res.Streams[0].SchemaChange; got != "−custentity_notes" {
		t.Fatalf("schema change %q", got)
	}
	h.oneTypePerName(connector.Customer)
	h.assertMatchesTruth(connector.Customer)
}

// TestCustomFieldTypeChange: a field whose type changes keeps its old column (and type)
// in the old files and is written as <scriptid>__<kind> from the next file on; values of
// the new type are exact, and no name holds two types.
func TestCustomFieldTypeChange(t *testing.T) {
	h := newHarness(t, customOpts(300, 35))
	streams := []string{connector.Customer}
	h.mustRun(streams, Options{})
	h.srv.SetCustomFieldType("custentity_employee_count", "Decimal Number")
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(3), "custentity_employee_count": 12.75})
	nextSecond()
	res := h.mustRun(streams, Options{CustomFieldsTTL: time.Nanosecond})
	if got := res.Streams[0].SchemaChange; got != "+custentity_employee_count__float (float), −custentity_employee_count" {
		t.Fatalf("schema change %q", got)
	}
	h.oneTypePerName(connector.Customer)
	rows, _ := h.outputRows(connector.Customer)
	if v := rows[3]["custentity_employee_count__float"]; v != 12.75 {
		t.Fatalf("id 3 = %#v", v)
	}
	// Changing back returns to the bare name and its first type.
	h.srv.SetCustomFieldType("custentity_employee_count", "Integer Number")
	h.srv.Upsert(connector.Customer, netsuitetest.Row{"id": int64(4), "custentity_employee_count": int64(8)})
	nextSecond()
	res = h.mustRun(streams, Options{CustomFieldsTTL: time.Nanosecond})
	if got := res.Streams[0].SchemaChange; got != "+custentity_employee_count (integer), −custentity_employee_count__float" {
		t.Fatalf("schema change %q", got)
	}
	h.oneTypePerName(connector.Customer)
}

// TestColumnSelection: include and exclude lists and the custom_fields switch decide the
// columns; what they leave out is absent from the files and reported as skipped.
func TestColumnSelection(t *testing.T) {
	h := newHarness(t, customOpts(200, 36))
	sel := map[string]connector.ColumnSelection{
		connector.Customer: {ExcludeColumns: []string{"email", "phone", "custentity_*email*"}, CustomFields: connector.CustomFieldChoice{Only: []string{"custentity_b*", "custentity_vip"}}},
		connector.Contact:  {CustomFields: connector.CustomFieldChoice{None: true}},
		connector.Task:     {Columns: []string{"title", "custevent_topics"}},
	}
	res := h.mustRun([]string{connector.Customer, connector.Contact, connector.Task}, Options{Columns: sel})
	wantCols := map[string][]string{
		connector.Customer: nil, // checked below
		connector.Task:     {"id", "title", "lastmodifieddate", "custevent_topics", connector.DeletedColumn, connector.ExtractedAtColumn, connector.RunIDColumn},
	}
	s := h.fileSchemas(connector.Task)[0]
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, wantCols[connector.Task]) {
		t.Fatalf("task columns %v", names)
	}
	s = h.fileSchemas(connector.Customer)[0]
	for _, gone := range []string{"email", "phone", "custentity_billing_email", "custentity_nickname", "custentity_region"} {
		if len(s.FieldIndices(gone)) != 0 {
			t.Errorf("customer has %s", gone)
		}
	}
	if len(s.FieldIndices("custentity_vip")) != 1 {
		t.Error("customer lacks custentity_vip")
	}
	if res.Streams[1].CustomColumns != 0 || res.CustomFields.Requests != 1 {
		t.Errorf("contact custom columns %d, catalog %+v", res.Streams[1].CustomColumns, res.CustomFields)
	}

	// No stream wants custom fields: the catalog is not even read.
	h2 := newHarness(t, customOpts(10, 36))
	none := map[string]connector.ColumnSelection{connector.Contact: {CustomFields: connector.CustomFieldChoice{None: true}}}
	h2.mustRun([]string{connector.Contact}, Options{Columns: none})
	if n := h2.srv.Stats().SuiteQLRequests["customfield"]; n != 0 {
		t.Errorf("%d customfield queries with custom_fields none", n)
	}
}

// TestColumnRefusedMidPass: a field that starts failing in the middle of a pass is found
// and dropped there; the open file is committed with its rows (and the column) and a new
// file without it follows, so each file has one schema and nothing is lost.
func TestColumnRefusedMidPass(t *testing.T) {
	h := newHarness(t, customOpts(3500, 37))
	var pages atomic.Int32 // the pass's readers call the hook at once
	hook := func(step string) error {
		if step == "page-fetched" {
			if pages.Add(1) == 2 {
				h.srv.SetRejection(connector.Task, "custevent_summary", netsuitetest.UnexpectedError)
			}
		}
		return nil
	}
	res, err := h.run([]string{connector.Task}, Options{stepHook: hook}, faults{})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Streams[0].DroppedColumns; !slices.ContainsFunc(d, func(c DroppedColumn) bool { return c.Column == "custevent_summary" && c.New }) {
		t.Fatalf("dropped %+v", d)
	}
	schemas := h.fileSchemas(connector.Task)
	if len(schemas) != 2 || len(schemas[0].FieldIndices("custevent_summary")) != 1 || len(schemas[1].FieldIndices("custevent_summary")) != 0 {
		t.Fatalf("%d files; want the column in the first and not in the second", len(schemas))
	}
	got, total := h.outputRows(connector.Task)
	if len(got) != 3500 || total != 3500 {
		t.Fatalf("%d ids from %d rows, want 3500", len(got), total)
	}
	h.absent[connector.Task] = nil
	truth := h.srv.Truth(connector.Task)
	withSummary := 0
	for _, want := range truth {
		row := got[want["id"].(int64)]
		if v, ok := row["custevent_summary"]; ok {
			withSummary++
			if !sameValue("text", want["custevent_summary"], v, nil) {
				t.Fatalf("id %v summary %#v, NetSuite %#v", want["id"], v, want["custevent_summary"])
			}
		}
	}
	files, _ := sinktest.Glob(h.out, connector.Task, "*.parquet")
	sort.Strings(files)
	if first := len(readParquet(t, files[0])); withSummary != first || first < 1000 || first >= 3500 {
		t.Errorf("%d rows carry the column, the first file has %d; want the pages read before the refusal", withSummary, first)
	}
}

// TestCustomFieldTableRefused: a role that may not read customfield still extracts, with
// the custom fields known from earlier runs (none on a first run), and does not ask again
// before the catalog's TTL: a quiet run stays cheap.
func TestCustomFieldTableRefused(t *testing.T) {
	h := newHarness(t, customOpts(20, 38))
	streams := []string{connector.Contact}
	refuse := func(r *http.Request) (int, string, bool) {
		if strings.Contains(queryOf(r), "FROM customfield") {
			return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Record 'customfield' was not found."), true
		}
		return 0, "", false
	}
	h.srv.SetFault(refuse)
	res := h.mustRun(streams, Options{})
	if res.CustomFields.Unavailable == "" || res.CustomFields.Fields != 0 || res.Streams[0].CustomColumns != 0 || res.CustomFields.Requests != 2 {
		t.Fatalf("first run: catalog %+v, %d custom columns; want none, unavailable, after the query and one baseline probe", res.CustomFields, res.Streams[0].CustomColumns)
	}
	h.srv.ResetStats()
	nextSecond()
	res = h.mustRun(streams, Options{})
	if n := h.srv.Stats().SuiteQLRequests["customfield"]; n != 0 || res.CustomFields.Unavailable == "" {
		t.Fatalf("quiet run asked customfield %d times; catalog %+v", n, res.CustomFields)
	}

	// A catalog read earlier survives the table becoming unreadable.
	h2 := newHarness(t, customOpts(20, 38))
	h2.mustRun(streams, Options{})
	h2.srv.SetFault(refuse)
	nextSecond()
	res = h2.mustRun(streams, Options{CustomFieldsTTL: time.Nanosecond})
	if res.Streams[0].CustomColumns != 18 || res.Streams[0].SchemaChange != "" || res.CustomFields.Unavailable == "" {
		t.Fatalf("custom columns %d, change %q, catalog %+v", res.Streams[0].CustomColumns, res.Streams[0].SchemaChange, res.CustomFields)
	}
	h2.assertMatchesTruth(connector.Contact)
}
