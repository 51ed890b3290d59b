package connector_test

// The CPU path, measured the way production runs it: recorded SuiteQL response bodies
// are decoded column by column (connector.DecodePageItems, as the pipeline's keyset
// reads ask the client to), typed (schema.Builder.AppendItemAt, after the pipeline's
// WallInstants on the cursor) and written as zstd Parquet (sink.File) by
// several decode+convert workers feeding one writer in page order, into one committed
// file as DuckDB's COPY writes one (EXTRACT_CPUBENCH_FILE_ROWS rolls files as the
// pipeline does).
//
//	BenchmarkCPUPath       rows/s for 100k and 1M rows (part of `make bench`)
//	TestCPUPathReport      `make bench-cpu`: extract against DuckDB side by side, with
//	                       peak RSS measured in child processes (EXTRACT_CPUBENCH=1)
//	TestCPUPathChild       one run in a child process (EXTRACT_CPUBENCH_CHILD=rows)
//
// The rows are generated deterministically in memory: a ring of cpuBenchRing distinct
// 1000-item page bodies; each page of a run is one of them copied into the worker's
// body buffer (as a client reading a response would) with unique ids patched in.
//
// Knobs of the child run: EXTRACT_CPUBENCH_WORKERS (decode+convert goroutines, 2),
// EXTRACT_CPUBENCH_DEPTH (pages in flight, 2 per worker), EXTRACT_CPUBENCH_FILE_ROWS
// (roll files), EXTRACT_CPUBENCH_KEEP (keep the output in that directory).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
)

const (
	cpuBenchPage     = 1000      // items per page, as NetSuite's maximum
	cpuBenchRing     = 16        // distinct page bodies cycled through
	cpuBenchIDBase   = 1_000_000 // first id: every id up to 8,999,999 has 7 digits
	cpuBenchFileRows = 100_000   // the pipeline's default FileRows (BenchmarkCPUStages/write)
	cpuBenchWorkers  = 2         // decode+convert goroutines (one per core here)
	cpuBenchVersion  = 1         // bump when the generated rows change (NDJSON cache key)
)

// cpuBenchTable is a customer-like table of 25 columns: standard ones of every kind and
// custom fields (float, percent, multiple select, date, bool, text, list/record, datetime).
func cpuBenchTable() schema.Table {
	c := func(name string, k schema.Kind) schema.Column { return schema.Column{Name: name, Kind: k} }
	cu := func(name string, k schema.Kind, vt string) schema.Column {
		return schema.Column{Name: name, Kind: k, Custom: true, Label: name[len("custentity_"):], ValueType: vt}
	}
	return schema.Table{Name: "customer", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []schema.Column{
		c("id", schema.Integer), c("entityid", schema.Text), c("externalid", schema.Text),
		c("companyname", schema.Text), c("email", schema.Text), c("phone", schema.Text),
		c("isperson", schema.Bool), c("isinactive", schema.Bool), c("parent", schema.Integer),
		c("currency", schema.Integer), c("subsidiary", schema.Integer), c("entitystatus", schema.Integer),
		c("salesrep", schema.Integer), c("firstorderdate", schema.Date), c("datecreated", schema.DateTime),
		c("lastmodifieddate", schema.DateTime),
		cu("custentity_credit_limit", schema.Float, "Currency"),
		cu("custentity_discount", schema.Percent, "Percent"),
		cu("custentity_product_lines", schema.IntegerList, "Multiple Select"),
		cu("custentity_renewal_date", schema.Date, "Date"),
		cu("custentity_vip", schema.Bool, "Check Box"),
		cu("custentity_notes", schema.Text, "Text Area"),
		cu("custentity_region", schema.Integer, "List/Record"),
		cu("custentity_last_review", schema.DateTime, "Date/Time"),
		cu("custentity_score", schema.Float, "Decimal Number"),
	}}
}

func cpuBenchLoc() *time.Location {
	if loc, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return loc
	}
	return time.FixedZone("PST", -8*3600)
}

// splitmix64 gives each template row its own deterministic stream of choices.
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *splitmix) intn(n int) int { return int(s.next() % uint64(n)) }
func (s *splitmix) pct(p int) bool { return s.intn(100) < p }

var (
	benchWords = []string{"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Soylent",
		"Tyrell", "Cyberdyne", "Hooli", "Vandelay", "Zürich", "Malmö", "Ørsted", "São Paulo", "Kraków"}
	benchSuffixes = []string{"Inc.", "LLC", "GmbH", "Ltd", "S.A.", "AG", "& Sons", "Holdings", "Group"}
	// JSON-encoded fragments: escapes of every kind NetSuite sends in free text.
	benchNotes = []string{
		`Renewal call booked; ask about the \"enterprise\" tier.`,
		`Line one\nLine two\nLine three`,
		`Path C:\\Shares\\Accounts\\2024`,
		`Caf\u00e9 owner, prefers email \ud83d\ude00`,
		`Tab\tseparated\tnotes`,
		`Plain note about invoices, terms and the next quarter's volume forecast.`,
	}
)

// appendDateTime appends t as YYYY-MM-DD HH:MM:SS (the TO_CHAR format the queries use).
func appendDateTime(dst []byte, t time.Time) []byte {
	return t.AppendFormat(dst, schema.DateTimeLayout)
}

// appendItem appends template row k as a SuiteQL item: every value a JSON string, T/F
// booleans, NULLs omitted. It returns the offsets in dst of the three
// 7-digit copies of the id (id, entityid, email) so a page can be given fresh ids.
func appendItem(dst []byte, k int) ([]byte, [3]int) {
	r := splitmix(k*7919 + 17)
	var at [3]int
	id := strconv.Itoa(cpuBenchIDBase + k)
	str := func(key, val string) {
		dst = append(append(append(append(dst, ",\""...), key...), "\":\""...), val...)
		dst = append(dst, '"')
	}
	dst = append(dst, `{"links":[],"id":"`...)
	at[0] = len(dst)
	dst = append(dst, id...)
	dst = append(dst, `","entityid":"CUST`...)
	at[1] = len(dst)
	dst = append(dst, id...)
	dst = append(dst, '"')
	if r.pct(85) {
		str("externalid", fmt.Sprintf("SF-%08x", uint32(r.next())))
	}
	company := benchWords[r.intn(len(benchWords))] + " " + benchWords[r.intn(len(benchWords))] + " " + benchSuffixes[r.intn(len(benchSuffixes))]
	if r.pct(5) {
		company = `\"` + company + `\" (old)`
	}
	str("companyname", company)
	if r.pct(90) {
		dst = append(dst, `,"email":"c`...)
		at[2] = len(dst)
		dst = append(dst, id...)
		dst = append(dst, `@example.com"`...)
	} else {
		at[2] = -1
	}
	if r.pct(80) {
		str("phone", fmt.Sprintf("(555) %03d-%04d", r.intn(1000), r.intn(10000)))
	}
	tf := func(p int) string {
		if r.pct(p) {
			return "T"
		}
		return "F"
	}
	str("isperson", tf(30))
	str("isinactive", tf(5))
	if r.pct(30) {
		str("parent", strconv.Itoa(cpuBenchIDBase+r.intn(k+1)))
	}
	str("currency", strconv.Itoa(1+r.intn(5)))
	str("subsidiary", strconv.Itoa(1+r.intn(20)))
	str("entitystatus", strconv.Itoa(6+r.intn(11)))
	if r.pct(75) {
		str("salesrep", strconv.Itoa(-5+r.intn(3000)))
	}
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	created := base.Add(time.Duration(r.intn(10*365*24*3600)) * time.Second)
	modified := created.Add(time.Duration(r.intn(365*24*3600)) * time.Second)
	if r.pct(70) {
		str("firstorderdate", created.AddDate(0, 0, r.intn(400)).Format(schema.DateLayout))
	}
	str("datecreated", string(appendDateTime(nil, created)))
	str("lastmodifieddate", string(appendDateTime(nil, modified)))
	str("custentity_credit_limit", strconv.FormatFloat(float64(r.intn(5_000_000))/100, 'f', -1, 64))
	if r.pct(60) {
		str("custentity_discount", strconv.FormatFloat(float64(r.intn(400))/8, 'f', -1, 64)+"%")
	}
	if r.pct(70) {
		n := 1 + r.intn(4)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = strconv.Itoa(1 + r.intn(40))
		}
		str("custentity_product_lines", strings.Join(ids, ", "))
	}
	if r.pct(80) {
		str("custentity_renewal_date", modified.AddDate(1, 0, r.intn(60)).Format(schema.DateLayout))
	}
	str("custentity_vip", tf(10))
	if r.pct(60) {
		str("custentity_notes", benchNotes[r.intn(len(benchNotes))])
	}
	str("custentity_region", strconv.Itoa(1+r.intn(12)))
	if r.pct(70) {
		str("custentity_last_review", string(appendDateTime(nil, modified.Add(-time.Duration(r.intn(86400*30))*time.Second))))
	}
	str("custentity_score", strconv.FormatFloat(float64(r.intn(100000))/1000, 'f', -1, 64))
	dst = append(dst, '}')
	return dst, at
}

// cpuBenchSource hands out the page bodies of an n-row read.
type cpuBenchSource struct {
	n     int
	items [cpuBenchRing][]byte  // the items of each distinct page, comma-separated
	ids   [cpuBenchRing][][]int // per page, per item, the offsets of its id copies
}

func newCPUBenchSource(n int) *cpuBenchSource {
	s := &cpuBenchSource{n: n}
	for p := range cpuBenchRing {
		var buf []byte
		for i := range cpuBenchPage {
			if i > 0 {
				buf = append(buf, ',')
			}
			var at [3]int
			buf, at = appendItem(buf, p*cpuBenchPage+i)
			var offs []int
			for _, a := range at {
				if a >= 0 {
					offs = append(offs, a)
				}
			}
			s.ids[p] = append(s.ids[p], offs)
		}
		s.items[p] = buf
	}
	return s
}

func (s *cpuBenchSource) pages() int { return (s.n + cpuBenchPage - 1) / cpuBenchPage }

// body returns page p: the envelope NetSuite sends around one of the ring's item lists,
// with the items cut to the rows left and their ids made unique. It is built in buf
// (reused: DecodePage keeps no reference to a body), as a client reading responses into
// one buffer would have it.
func (s *cpuBenchSource) body(p int, buf []byte) []byte {
	ring := p % cpuBenchRing
	count := min(cpuBenchPage, s.n-p*cpuBenchPage)
	items := s.items[ring]
	if count < cpuBenchPage {
		// Cut after item count-1: the comma before item count.
		items = items[:s.ids[ring][count][0]-len(`{"links":[],"id":"`)-1]
	}
	const host = "https://1234567.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset="
	b := append(buf[:0], `{"links":[{"rel":"next","href":"`+host...)
	b = strconv.AppendInt(b, int64((p+1)*cpuBenchPage), 10)
	b = append(b, `"},{"rel":"self","href":"`+host...)
	b = strconv.AppendInt(b, int64(p*cpuBenchPage), 10)
	b = append(b, `"}],"count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, `,"hasMore":`...)
	b = strconv.AppendBool(b, (p+1)*cpuBenchPage < s.n)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(p*cpuBenchPage), 10)
	b = append(b, `,"totalResults":`...)
	b = strconv.AppendInt(b, int64(s.n), 10)
	b = append(b, `,"items":[`...)
	base := len(b)
	b = append(b, items...)
	b = append(b, "]}"...)
	for i := range count {
		var digits [7]byte
		strconv.AppendInt(digits[:0], int64(cpuBenchIDBase+p*cpuBenchPage+i), 10)
		for _, off := range s.ids[ring][i] {
			copy(b[base+off:], digits[:])
		}
	}
	return b
}

// cpuBenchResult is what one run measured.
type cpuBenchResult struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	Files   int     `json:"files"`
	Bytes   int64   `json:"bytes"`
	RSSKiB  int64   `json:"rss_kib,omitempty"` // peak RSS of the process (VmHWM)
	// CPUSeconds is the process's CPU time (all threads) during the run: on a shared
	// machine, steadier than the wall clock.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CommitSeconds is the time spent in File.Commit (flush, fsync, rename): the
	// writer's wait for the disk, not CPU work.
	CommitSeconds float64 `json:"commit_seconds"`
}

func (r cpuBenchResult) rate() float64 { return float64(r.Rows) / r.Seconds }

// runCPUPath sends n rows through decode → convert (workers goroutines) → one writer,
// in files of fileRows rows, the order of pages kept as the pipeline keeps it.
func runCPUPath(ctx context.Context, src *cpuBenchSource, s *sink.Sink, fileRows int64, workers int) (cpuBenchResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	table, loc := cpuBenchTable(), cpuBenchLoc()

	type result struct {
		rec arrow.Record
		err error
	}
	type job struct {
		page int
		out  chan result
	}
	jobs := make(chan job)
	depth := 2 * workers
	if v, err := strconv.Atoi(os.Getenv("EXTRACT_CPUBENCH_DEPTH")); err == nil && v > 0 {
		depth = v
	}
	futures := make(chan chan result, depth) // bounded prefetch, in page order
	go func() {
		defer close(futures)
		defer close(jobs)
		for p := range src.pages() {
			out := make(chan result, 1)
			select {
			case futures <- out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{p, out}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := schema.NewBuilder(memory.DefaultAllocator, table, loc)
			defer b.Release()
			var buf []byte
			for j := range jobs {
				buf = src.body(j.page, buf)
				rec, err := convertPage(b, table, loc, buf)
				j.out <- result{rec, err}
			}
		}()
	}
	defer wg.Wait()

	var res cpuBenchResult
	var f *sink.File
	defer func() {
		if f != nil {
			_ = f.Abort()
		}
	}()
	commit := func() error {
		start := time.Now()
		defer func() { res.CommitSeconds += time.Since(start).Seconds() }()
		rc, err := f.Commit()
		f = nil
		res.Files++
		res.Bytes += rc.Bytes
		return err
	}
	for out := range futures {
		var r result
		select {
		case r = <-out:
		case <-ctx.Done():
			return res, context.Cause(ctx)
		}
		if r.err != nil {
			cancel(r.err)
			return res, r.err
		}
		if f == nil {
			var err error
			if f, err = s.Create(context.Background(), table.Name, r.rec.Schema()); err != nil {
				r.rec.Release()
				cancel(err)
				return res, err
			}
		}
		res.Rows += int(r.rec.NumRows())
		err := f.Write(r.rec)
		r.rec.Release()
		if err == nil && f.Rows() >= fileRows {
			err = commit()
		}
		if err != nil {
			cancel(err)
			return res, err
		}
	}
	if f != nil {
		if err := commit(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// convertPage is the pipeline's per-page work: decode column by column, then for each
// row the cursor's instant, AppendItemAt, and the keyset id.
func convertPage(b *schema.Builder, t schema.Table, loc *time.Location, body []byte) (arrow.Record, error) {
	page, err := connector.DecodePageItems(body)
	if err != nil {
		return nil, err
	}
	it := page.Cols
	idKey, cursorKey := it.Index(t.PrimaryKey), it.Index(t.Cursor)
	for i := range it.Len() {
		cursor, _ := it.Get(i, cursorKey)
		at, _, ok := schema.WallInstants(cursor, loc)
		if !ok {
			return nil, fmt.Errorf("row %d: no cursor", i)
		}
		if err := b.AppendItemAt(it, i, at, nil); err != nil {
			return nil, err
		}
		id, _ := it.Get(i, idKey)
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return nil, err
		}
	}
	return b.NewRecord(), nil
}

func BenchmarkCPUPath(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			src := newCPUBenchSource(n)
			dir := b.TempDir()
			s, err := sink.New(context.Background(), sink.Options{Dir: dir, RunID: sinktest.RunID(), RunStart: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			var rows int
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				res, err := runCPUPath(b.Context(), src, s, math.MaxInt64, cpuBenchWorkers)
				if err != nil {
					b.Fatal(err)
				}
				rows += res.Rows
				b.StopTimer()
				if err := os.RemoveAll(filepath.Join(dir, "customer")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			// The machine is shared: CPU time per row is steadier than wall time.
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(rows), "cpu-ns/row")
		})
	}
}

// processCPU is the user+system CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPUPathChild is one measured run in a process of its own, so that its peak RSS is
// the path's alone; TestCPUPathReport starts it with EXTRACT_CPUBENCH_CHILD=<rows>.
func TestCPUPathChild(t *testing.T) {
	v := os.Getenv("EXTRACT_CPUBENCH_CHILD")
	if v == "" {
		t.Skip("run by TestCPUPathReport")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	src := newCPUBenchSource(n)
	dir := os.Getenv("EXTRACT_CPUBENCH_KEEP") // keep the files there, to look at them
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := sink.New(context.Background(), sink.Options{Dir: dir, RunID: sinktest.RunID(), RunStart: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// One file, as DuckDB's COPY writes one; EXTRACT_CPUBENCH_FILE_ROWS=100000 rolls
	// files (each commit an fsync) as the pipeline does by default.
	fileRows := int64(math.MaxInt64)
	if v, err := strconv.ParseInt(os.Getenv("EXTRACT_CPUBENCH_FILE_ROWS"), 10, 64); err == nil && v > 0 {
		fileRows = v
	}
	workers := cpuBenchWorkers
	if v, err := strconv.Atoi(os.Getenv("EXTRACT_CPUBENCH_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	cpu0, start := processCPU(), time.Now()
	res, err := runCPUPath(t.Context(), src, s, fileRows, workers)
	if err != nil {
		t.Fatal(err)
	}
	res.Seconds, res.CPUSeconds = time.Since(start).Seconds(), (processCPU() - cpu0).Seconds()
	res.RSSKiB = peakRSSKiB()
	out, _ := json.Marshal(res)
	fmt.Printf("cpubench-result %s\n", out)
}

// peakRSSKiB is the process's peak resident set (VmHWM), or 0 where /proc has none.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}

// runChild runs TestCPUPathChild for n rows and returns what it measured.
func runChild(t *testing.T, n int) cpuBenchResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCPUPathChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "EXTRACT_CPUBENCH_CHILD="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child run of %d rows: %v\n%s", n, err, out)
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, "cpubench-result "); ok {
			var r cpuBenchResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("child run of %d rows printed no result:\n%s", n, out)
	return cpuBenchResult{}
}

// ensureNDJSON writes the n benchmark rows as NDJSON (through the same decode and
// conversion, then the NDJSON sink) under dir, once: later runs reuse the file.
func ensureNDJSON(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("cpubench-v%d-%d.ndjson", cpuBenchVersion, n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	fmt.Printf("writing the %d rows as NDJSON for DuckDB (once): %s\n", n, path)
	tmp, err := os.MkdirTemp(dir, "ndjson-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	s, err := sink.New(context.Background(), sink.Options{Dir: tmp, Format: sink.NDJSON, RunID: sinktest.RunID(), RunStart: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runCPUPath(t.Context(), newCPUBenchSource(n), s, math.MaxInt64, cpuBenchWorkers)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := sinktest.Glob(tmp, "customer", "*.ndjson")
	if len(files) != 1 || res.Rows != n {
		t.Fatalf("NDJSON: %d rows in %v", res.Rows, files)
	}
	if err := os.Rename(files[0], path); err != nil {
		t.Fatal(err)
	}
	return path
}

type duckResult struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerS   float64 `json:"rows_per_s"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Version    string  `json:"version"`
}

// runDuckDB converts the NDJSON with DuckDB (testdata/duckdb/bench.mjs).
func runDuckDB(t *testing.T, modules, ndjson, dir string) (duckResult, error) {
	out := filepath.Join(dir, "duckdb.parquet")
	defer os.Remove(out)
	cmd := exec.CommandContext(t.Context(), "node", filepath.Join("testdata", "duckdb", "bench.mjs"), modules, ndjson, out)
	b, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return duckResult{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return duckResult{}, err
	}
	var r duckResult
	if err := json.Unmarshal(b, &r); err != nil {
		return duckResult{}, fmt.Errorf("bench.mjs printed %q: %w", b, err)
	}
	return r, nil
}

// TestCPUPathReport is `make bench-cpu`: DuckDB and extract convert the same 1M rows in
// alternating rounds (the machine is noisy; medians are reported), and the peak RSS of
// the path is measured for 100k and 1M rows in child processes.
//
//	EXTRACT_CPUBENCH=1               run at all
//	EXTRACT_CPUBENCH_DIR=dir         where the NDJSON is cached (default $TMPDIR/extract-cpubench)
//	EXTRACT_CPUBENCH_ROUNDS=5        rounds
//	EXTRACT_DUCKDB_MODULES=dir       npm prefix holding @duckdb/node-api; unset: no DuckDB
//	EXTRACT_DUCKDB_SKIPPED=reason    why DuckDB is not compared (printed)
func TestCPUPathReport(t *testing.T) {
	if os.Getenv("EXTRACT_CPUBENCH") == "" {
		t.Skip("set EXTRACT_CPUBENCH=1 (make bench-cpu)")
	}
	const n = 1_000_000
	dir := os.Getenv("EXTRACT_CPUBENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "extract-cpubench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rounds := 5
	if v, err := strconv.Atoi(os.Getenv("EXTRACT_CPUBENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	ndjson := ensureNDJSON(t, dir, n)

	modules, skipped := os.Getenv("EXTRACT_DUCKDB_MODULES"), os.Getenv("EXTRACT_DUCKDB_SKIPPED")
	if modules == "" && skipped == "" {
		skipped = "EXTRACT_DUCKDB_MODULES is not set"
	}
	var duck, ours, ratios, duckCPU, ourCPU []float64
	var rss1M []int64
	var version string
	for round := range rounds {
		d, haveDuck := duckResult{}, false
		if skipped == "" {
			var err error
			if d, err = runDuckDB(t, modules, ndjson, dir); err != nil {
				skipped = err.Error()
			} else {
				if d.Rows != n {
					t.Fatalf("DuckDB converted %d rows, want %d", d.Rows, n)
				}
				haveDuck = true
				duck, duckCPU, version = append(duck, d.RowsPerS), append(duckCPU, d.CPUSeconds), d.Version
				fmt.Printf("round %d: DuckDB:  %4.0fk rows/s (%.2fs, CPU %.2fs)\n", round+1, d.RowsPerS/1000, d.Seconds, d.CPUSeconds)
			}
		}
		r := runChild(t, n)
		ours, ourCPU, rss1M = append(ours, r.rate()), append(ourCPU, r.CPUSeconds), append(rss1M, r.RSSKiB)
		if haveDuck {
			ratios = append(ratios, r.rate()/d.RowsPerS)
		}
		fmt.Printf("round %d: extract: %4.0fk rows/s (%.2fs, CPU %.2fs, %d file, %.1f MB), peak RSS %.0f MB\n",
			round+1, r.rate()/1000, r.Seconds, r.CPUSeconds, r.Files, float64(r.Bytes)/1e6, float64(r.RSSKiB)/1024)
	}
	small := runChild(t, 100_000)
	fmt.Printf("100k rows: extract %.0fk rows/s, peak RSS %.0f MB\n", small.rate()/1000, float64(small.RSSKiB)/1024)

	line := fmt.Sprintf("cpu path: %s rows, %d columns: extract %s rows/s", thousands(n), len(cpuBenchTable().Columns), kilo(median(ours)))
	if len(duck) > 0 {
		line += fmt.Sprintf(", DuckDB %s rows/s (%.2f×)", kilo(median(duck)), median(ours)/median(duck))
	}
	line += fmt.Sprintf(", peak RSS %.0f MB (100k rows: %.0f MB)", float64(slices.Max(rss1M))/1024, float64(small.RSSKiB)/1024)
	if len(duck) == 0 {
		fmt.Printf("DuckDB comparison skipped: %s\n", skipped)
	} else {
		fmt.Printf("(DuckDB %s, threads=2; medians of %d alternating rounds; per-round ratio median %.2f×; CPU per 1M rows: extract %.2fs, DuckDB %.2fs)\n",
			version, len(duck), median(ratios), median(ourCPU), median(duckCPU))
	}
	fmt.Println(line)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func kilo(v float64) string { return fmt.Sprintf("%.0fk", v/1000) }

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// BenchmarkCPUStages times each stage of the path alone, on one goroutine, per row:
// where BenchmarkCPUPath says how fast, this says where the time goes.
func BenchmarkCPUStages(b *testing.B) {
	const pages = cpuBenchRing
	src := newCPUBenchSource(pages * cpuBenchPage)
	bodies := make([][]byte, pages)
	for p := range bodies {
		bodies[p] = src.body(p, nil)
	}
	table, loc := cpuBenchTable(), cpuBenchLoc()
	var cpu0 time.Duration
	perRow := func(b *testing.B, rows int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(rows), "cpu-ns/row")
		b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = processCPU()
		rows := 0
		for i := 0; b.Loop(); i++ {
			p, err := connector.DecodePage(bodies[i%pages])
			if err != nil {
				b.Fatal(err)
			}
			rows += len(p.Items)
		}
		perRow(b, rows)
	})
	decoded := make([][]schema.RawRow, pages)
	for p := range decoded {
		pg, err := connector.DecodePage(bodies[p])
		if err != nil {
			b.Fatal(err)
		}
		decoded[p] = pg.Items
	}
	b.Run("convert", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = processCPU()
		bld := schema.NewBuilder(memory.DefaultAllocator, table, loc)
		defer bld.Release()
		rows := 0
		for i := 0; b.Loop(); i++ {
			for _, row := range decoded[i%pages] {
				at, _, _ := schema.WallInstants(row[table.Cursor], loc)
				if err := bld.AppendAt(row, at); err != nil {
					b.Fatal(err)
				}
			}
			rec := bld.NewRecord()
			rows += int(rec.NumRows())
			rec.Release()
		}
		perRow(b, rows)
	})
	recs := make([]arrow.Record, pages)
	bld := schema.NewBuilder(memory.DefaultAllocator, table, loc)
	defer bld.Release()
	for p := range recs {
		for _, row := range decoded[p] {
			if err := bld.Append(row); err != nil {
				b.Fatal(err)
			}
		}
		recs[p] = bld.NewRecord()
		defer recs[p].Release()
	}
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = processCPU()
		dir := b.TempDir()
		s, err := sink.New(context.Background(), sink.Options{Dir: dir, RunID: sinktest.RunID(), RunStart: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		var f *sink.File
		for i := 0; b.Loop(); i++ {
			if f == nil {
				if f, err = s.Create(context.Background(), table.Name, recs[0].Schema()); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Write(recs[i%pages]); err != nil {
				b.Fatal(err)
			}
			rows += cpuBenchPage
			if f.Rows() >= cpuBenchFileRows {
				if _, err := f.Commit(); err != nil {
					b.Fatal(err)
				}
				f = nil
			}
		}
		if f != nil {
			_ = f.Abort()
		}
		perRow(b, rows)
	})
}
