package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"gocloud.dev/blob"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// harness runs real extracts — client, auth, sink, state — against the fake NetSuite.
type harness struct {
	t         *testing.T
	srv       *netsuitetest.Server
	out       string
	statePath string
	format    sink.Format
	client    *connector.Client
	loc       *time.Location // the fake's session zone
	// absent are columns (by stream) the fake serves or the connector declares that a
	// test expects not to be in the output: refused, or left out by the configuration.
	absent map[string][]string
	// bucket, when set, holds the output and the state (generations), as a run with
	// --output s3://… does; out and statePath are then unused.
	bucket *blob.Bucket
}

const account = "TSTDRV1234567"

func newHarness(t *testing.T, opts netsuitetest.Options) *harness {
	t.Helper()
	opts.AccountID = account
	srv, err := netsuitetest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	h := &harness{t: t, srv: srv, out: filepath.Join(dir, "out"), statePath: filepath.Join(dir, "state.json"), format: sink.Parquet,
		absent: map[string][]string{}}
	zone := opts.TimeZone
	if zone == "" {
		zone = "America/Los_Angeles"
	}
	if h.loc, err = time.LoadLocation(zone); err != nil {
		t.Fatal(err)
	}
	limited := connector.NewLimiter(4).Transport(http.DefaultTransport)
	rt, err := auth.NewTransport(auth.Config{Method: auth.OAuth2Refresh, AccountID: account, TokenURL: srv.TokenURL(),
		ClientID: "demo-client-id", ClientSecret: "demo-client-secret", RefreshToken: srv.RefreshToken()}, limited)
	if err != nil {
		t.Fatal(err)
	}
	h.client, err = connector.NewClient(srv.URL(), &http.Client{Transport: rt, Timeout: time.Minute},
		connector.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// faults lets a test make the sink or the state file fail at a step, like a crash there.
type faults struct {
	sink  func(sink.Step, string) error
	state func(string) error
}

func (h *harness) run(streams []string, opts Options, f faults) (Result, error) {
	h.t.Helper()
	runID := sinktest.RunID()
	var st *state.Store
	var err error
	if h.bucket != nil {
		st, err = state.OpenBucket(context.Background(), h.bucket, "s3://lake", account, state.BucketOptions{RunID: runID})
	} else {
		st, err = state.Open(h.statePath, account)
	}
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	st.SetFaultHook(f.state)
	sinkOpts := sink.Options{Dir: h.out, Format: h.format, RowGroupRows: 2000, Hook: f.sink, RunID: runID, RunStart: time.Now()}
	if h.bucket != nil {
		sinkOpts.Dir, sinkOpts.Bucket, sinkOpts.Display = "", h.bucket, "s3://lake"
	}
	opts.RunID = runID
	out, err := sink.New(context.Background(), sinkOpts)
	if err != nil {
		h.t.Fatal(err)
	}
	opts.Streams = streams
	r := &Runner{Source: h.client, Sink: out, State: st, Opts: opts}
	return r.Run(context.Background())
}

func (h *harness) mustRun(streams []string, opts Options) Result {
	h.t.Helper()
	res, err := h.run(streams, opts, faults{})
	if err != nil {
		h.t.Fatalf("run: %v", err)
	}
	return res
}

// fileRows reads the rows of every committed file of a stream, file by file in file-name
// (time) order, with an independent reader.
func (h *harness) fileRows(stream string) [][]map[string]any {
	h.t.Helper()
	files := h.outputFiles(stream)
	var out [][]map[string]any
	for _, f := range files {
		if h.format == sink.Parquet {
			out = append(out, readParquet(h.t, f))
		} else {
			out = append(out, readNDJSON(h.t, f, h.columnTypes(stream)))
		}
	}
	return out
}

// outputFiles lists the committed files of a stream in path order (dt, run, part). From
// a bucket, each object is copied to a local file first: what a loader would download.
func (h *harness) outputFiles(stream string) []string {
	h.t.Helper()
	if h.bucket == nil {
		files, _ := sinktest.Glob(h.out, stream, "*."+string(h.format))
		sort.Strings(files)
		return files
	}
	ctx := context.Background()
	dir := h.t.TempDir()
	var files []string
	it := h.bucket.List(&blob.ListOptions{Prefix: stream + "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			h.t.Fatal(err)
		}
		if !strings.HasSuffix(obj.Key, "."+string(h.format)) {
			continue
		}
		data, err := h.bucket.ReadAll(ctx, obj.Key)
		if err != nil {
			h.t.Fatal(err)
		}
		local := filepath.Join(dir, fmt.Sprintf("%06d.%s", len(files), h.format))
		if err := os.WriteFile(local, data, 0o600); err != nil {
			h.t.Fatal(err)
		}
		files = append(files, local)
	}
	return files
}

// outputRows reads every committed file of a stream, in file-name (time) order, with an
// independent reader, and merges rows by id as the README tells a warehouse to: keep the
// latest lastmodifieddate, a tombstone winning a tie, then drop tombstoned ids. It also
// returns the number of rows read, tombstones included.
func (h *harness) outputRows(stream string) (map[int64]map[string]any, int) {
	h.t.Helper()
	merged := map[int64]map[string]any{}
	total := 0
	for _, rows := range h.fileRows(stream) {
		for _, r := range rows {
			total++
			id := r["id"].(int64)
			// Which run read the row, and when, is asserted here and then set aside: the
			// callers compare what NetSuite holds, which two runs must agree on.
			if run, _ := r[connector.RunIDColumn].(string); run == "" {
				h.t.Fatalf("%s id %d: no %s", stream, id, connector.RunIDColumn)
			}
			if at, _ := r[connector.ExtractedAtColumn].(time.Time); at.IsZero() {
				h.t.Fatalf("%s id %d: no %s", stream, id, connector.ExtractedAtColumn)
			}
			delete(r, connector.RunIDColumn)
			delete(r, connector.ExtractedAtColumn)
			if old, ok := merged[id]; ok {
				newer, older := r["lastmodifieddate"].(time.Time), old["lastmodifieddate"].(time.Time)
				if newer.Before(older) || (newer.Equal(older) && old[connector.DeletedColumn] == true) {
					continue
				}
			}
			merged[id] = r
		}
	}
	for id, r := range merged {
		if r[connector.DeletedColumn] == true {
			delete(merged, id)
		} else if r[connector.DeletedColumn] != false {
			h.t.Fatalf("%s id %d: %s = %v, want false on a record", stream, id, connector.DeletedColumn, r[connector.DeletedColumn])
		}
	}
	return merged, total
}

func readParquet(t *testing.T, path string) []map[string]any {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	var rows []map[string]any
	for tr.Next() {
		rec := tr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = arrowValue(t, rec.Column(c), i)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func arrowValue(t *testing.T, a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		if tt.Unit != arrow.Microsecond || tt.TimeZone != "UTC" {
			t.Fatalf("timestamp column is %s, want us UTC", tt)
		}
		return time.UnixMicro(int64(a.Value(i))).UTC()
	case *array.List:
		ids, ok := a.ListValues().(*array.Int64)
		if !ok {
			t.Fatalf("list column of %s, want int64", a.ListValues().DataType())
		}
		start, end := a.ValueOffsets(i)
		out := []int64{}
		for j := start; j < end; j++ {
			out = append(out, ids.Value(int(j)))
		}
		return out
	default:
		t.Fatalf("unexpected column type %s", a.DataType())
		return nil
	}
}

// columnTypes are the fake's types of a stream's columns, standard and custom, with
// the connector's kinds where it declares a standard column.
func (h *harness) columnTypes(stream string) map[string]netsuitetest.ColumnType {
	kinds := map[string]netsuitetest.ColumnType{}
	for _, c := range h.srv.Columns(stream) {
		kinds[c.Name] = c.Type
	}
	tb, _ := connector.Table(stream)
	for _, c := range tb.Columns {
		kinds[c.Name] = netsuitetest.ColumnType(c.Kind.String())
	}
	return kinds
}

func readNDJSON(t *testing.T, path string, kinds map[string]netsuitetest.ColumnType) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		row := map[string]any{}
		for k, v := range raw {
			row[k] = fromJSON(t, kinds[k], v)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func fromJSON(t *testing.T, kind netsuitetest.ColumnType, v any) any {
	if v == nil {
		return nil
	}
	if list, ok := v.([]any); ok { // a Multiple Select: internal ids
		ids := []int64{}
		for _, x := range list {
			n, err := x.(json.Number).Int64()
			if err != nil {
				t.Fatalf("list element %v: %v", x, err)
			}
			ids = append(ids, n)
		}
		return ids
	}
	switch kind {
	case "integer":
		n, err := v.(json.Number).Int64()
		if err != nil {
			t.Fatalf("integer %v: %v", v, err)
		}
		return n
	case "float":
		f, err := v.(json.Number).Float64()
		if err != nil {
			t.Fatalf("float %v: %v", v, err)
		}
		return f
	case "datetime":
		s := v.(string)
		if !strings.HasSuffix(s, "Z") {
			t.Fatalf("timestamp %q is not UTC", s)
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	case "date":
		tm, err := time.Parse(time.DateOnly, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	default:
		return v
	}
}

// assertMatchesTruth compares every cell of the merged output with the fake's data.
func (h *harness) assertMatchesTruth(stream string) int {
	h.t.Helper()
	got, _ := h.outputRows(stream)
	truth := h.srv.Truth(stream)
	cols := h.declaredColumns(stream)
	if len(got) != len(truth) {
		h.t.Errorf("%s: %d distinct ids in output, %d in NetSuite", stream, len(got), len(truth))
	}
	for _, row := range got {
		for _, name := range h.absent[stream] {
			if _, ok := row[name]; ok {
				h.t.Fatalf("%s: column %s is in the output; a column NetSuite refused or the configuration excludes must be absent, not NULL", stream, name)
			}
		}
	}
	mismatches := 0
	for _, want := range truth {
		id := want["id"].(int64)
		row, ok := got[id]
		if !ok {
			if mismatches++; mismatches <= 5 {
				h.t.Errorf("%s: id %d missing from the output", stream, id)
			}
			continue
		}
		for _, c := range cols {
			// The cursor is exact even in the repeated autumn hour (row order and record
			// lookups decide it); other date/times there may be either instant.
			loc := h.loc
			if c.Name == "lastmodifieddate" {
				loc = nil
			}
			if !sameValue(c.Type, want[c.Name], row[c.Name], loc) {
				if mismatches++; mismatches <= 5 {
					h.t.Errorf("%s id %d column %s: output %#v, NetSuite %#v", stream, id, c.Name, row[c.Name], want[c.Name])
				}
			}
		}
	}
	if mismatches > 0 {
		h.t.Errorf("%s: %d mismatches", stream, mismatches)
	}
	return len(truth)
}

// declaredColumns are the columns the output must hold: the fake's columns that the
// connector declares (every declared column must exist in the fake, or the fake would
// reject the query) and every custom column the fake serves, less h.absent.
func (h *harness) declaredColumns(stream string) []netsuitetest.Column {
	h.t.Helper()
	tb, err := connector.Table(stream)
	if err != nil {
		h.t.Fatal(err)
	}
	byName := map[string]netsuitetest.Column{}
	holdsNoValue := map[string]bool{}
	for _, f := range h.srv.CustomFields() {
		holdsNoValue[f.ScriptID] = f.NotServed || f.NotStored || f.ValueType == "Password"
	}
	var out []netsuitetest.Column
	for _, c := range h.srv.Columns(stream) {
		byName[c.Name] = c
		if strings.HasPrefix(c.Name, "cust") && !holdsNoValue[c.Name] && !slices.Contains(h.absent[stream], c.Name) {
			out = append(out, c)
		}
	}
	for _, c := range tb.Columns {
		if c.Derived || slices.Contains(h.absent[stream], c.Name) {
			continue
		}
		fc, ok := byName[c.Name]
		if !ok {
			h.t.Fatalf("%s.%s is declared by the connector but unknown to the fake NetSuite", stream, c.Name)
		}
		if string(fc.Type) != c.Kind.String() {
			h.t.Errorf("%s.%s: connector type %s, NetSuite type %s", stream, c.Name, c.Kind, fc.Type)
		}
		out = append(out, fc)
	}
	return out
}

// sameValue compares an output cell with NetSuite's value. NetSuite (Oracle) has no empty
// string, so "" there reads back as NULL. With loc set, a datetime whose wall time in the
// session zone names two instants (the repeated autumn hour) may come back as either of
// them (see the README's time-zone section); with loc nil it must be exact.
func sameValue(typ netsuitetest.ColumnType, want, got any, loc *time.Location) bool {
	if s, ok := want.(string); ok && s == "" {
		want = nil
	}
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	switch typ {
	case "datetime":
		w, g := want.(time.Time), got.(time.Time)
		if w.Equal(g) || loc == nil {
			return w.Equal(g)
		}
		first, last, _ := schema.WallInstants(w.In(loc).Format(schema.DateTimeLayout), loc)
		return g.Equal(first) || g.Equal(last)
	case "date":
		w := want.(time.Time)
		return w.Format(time.DateOnly) == got.(time.Time).Format(time.DateOnly)
	case "float":
		return math.Abs(want.(float64)-got.(float64)) <= 1e-9*math.Max(1, math.Abs(want.(float64)))
	default:
		return fmt.Sprint(want) == fmt.Sprint(got)
	}
}

// queryOf reads the SuiteQL text of a request without consuming its body for the server.
func queryOf(r *http.Request) string {
	if r.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}
