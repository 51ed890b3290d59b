package sink

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/extract-dev/extract/sink/s3test"
)

// benchSchema has 20 columns in a mix resembling a NetSuite CRM stream.
func benchSchema() *arrow.Schema {
	var fields []arrow.Field
	add := func(n int, prefix string, typ arrow.DataType) {
		for i := range n {
			fields = append(fields, arrow.Field{Name: fmt.Sprintf("%s%d", prefix, i), Type: typ, Nullable: i > 0 || prefix != "id"})
		}
	}
	add(4, "id", arrow.PrimitiveTypes.Int64)
	add(3, "amount", arrow.PrimitiveTypes.Float64)
	add(3, "flag", arrow.FixedWidthTypes.Boolean)
	add(6, "text", arrow.BinaryTypes.String)
	add(2, "ts", tsUTC)
	add(2, "date", arrow.FixedWidthTypes.Date32)
	return arrow.NewSchema(fields, nil)
}

// benchListSchema is benchSchema with one nullable list<int64> column (a multiple-select
// field) among the others, so rows take the variable-width Parquet path.
func benchListSchema() *arrow.Schema {
	fields := slices.Clone(benchSchema().Fields())
	fields = slices.Insert(fields, 10, arrow.Field{Name: "multi0", Type: listOfInt64, Nullable: true})
	return arrow.NewSchema(fields, nil)
}

// benchRecords builds a few distinct 1000-row batches with about 10% NULLs.
func benchRecords(b *testing.B, schema *arrow.Schema, n int) []arrow.Record {
	texts := []string{"Acme Corporation", "jane.doe@example.com", "", "Follow up re: invoice #4411 \"urgent\"",
		"Zürich office", "555-0100", "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	recs := make([]arrow.Record, n)
	for r := range n {
		rows := make([]row, 1000)
		for i := range rows {
			k := r*1000 + i
			cells := make(row, 0, schema.NumFields())
			for c, f := range schema.Fields() {
				if f.Nullable && (k+c)%10 == 0 {
					cells = append(cells, nil)
					continue
				}
				switch f.Type.ID() {
				case arrow.INT64:
					cells = append(cells, int64(k*7+c))
				case arrow.FLOAT64:
					cells = append(cells, float64(k%100000)/100+float64(c))
				case arrow.BOOL:
					cells = append(cells, (k+c)%3 == 0)
				case arrow.STRING:
					cells = append(cells, texts[(k+c)%len(texts)])
				case arrow.TIMESTAMP:
					cells = append(cells, arrow.Timestamp(start+int64(k)*1_000_003))
				case arrow.DATE32:
					cells = append(cells, arrow.Date32(19000+k%3000))
				case arrow.LIST:
					ids := make([]int64, (k+c)%5) // 0 to 4 ids, 2 on average
					for j := range ids {
						ids[j] = int64(k*13+j) % 100_000
					}
					cells = append(cells, ids)
				}
			}
			rows[i] = cells
		}
		recs[r] = buildRecord(b, schema, rows)
	}
	b.Cleanup(func() {
		for _, rec := range recs {
			rec.Release()
		}
	})
	return recs
}

func BenchmarkWriteParquet(b *testing.B) { benchmarkWrite(b, Parquet, benchSchema()) }
func BenchmarkWriteNDJSON(b *testing.B)  { benchmarkWrite(b, NDJSON, benchSchema()) }

// The same 20 columns plus one list<int64> column.
func BenchmarkWriteParquetList(b *testing.B) { benchmarkWrite(b, Parquet, benchListSchema()) }
func BenchmarkWriteNDJSONList(b *testing.B)  { benchmarkWrite(b, NDJSON, benchListSchema()) }

// benchmarkWrite writes files of 50k and 500k rows (1000-row batches) and commits them.
// Besides rows/s it reports allocations and bytes per row and the peak heap seen after
// any batch: flat memory means the 10x larger file shows about the same per-row
// allocation and peak heap, not ten times more.
func benchmarkWrite(b *testing.B, format Format, schema *arrow.Schema) {
	recs := benchRecords(b, schema, 8)
	for _, rowsPerFile := range []int{50_000, 500_000} {
		b.Run(fmt.Sprintf("rows=%d", rowsPerFile), func(b *testing.B) {
			s, err := New(b.Context(), Options{Dir: b.TempDir(), Format: format, RunID: testRunID, RunStart: testRunStart})
			if err != nil {
				b.Fatal(err)
			}
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			var peak uint64
			var rows, size int64
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			for b.Loop() {
				f, err := s.Create(b.Context(), "bench", schema)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i*1000 < rowsPerFile; i++ {
					if err := f.Write(recs[i%len(recs)]); err != nil {
						b.Fatal(err)
					}
					metrics.Read(sample)
					peak = max(peak, sample[0].Value.Uint64())
				}
				rc, err := f.Commit()
				if err != nil {
					b.Fatal(err)
				}
				rows += rc.Rows
				size = rc.Bytes
				if err := os.Remove(rc.Path); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(rows), "B/row")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size)/float64(rowsPerFile), "file-B/row")
		})
	}
}

// BenchmarkS3Write writes 200k rows as Parquet to gofakes3 from 5 streams at once (40k
// rows, one file each) and reports rows/s and the peak heap sampled while writing: the
// upload buffers (UploadPartSize × (UploadConcurrency+1) per open file) should keep 5
// concurrent files well inside a 150 MB budget.
func BenchmarkS3Write(b *testing.B) {
	const streams, rowsPerStream = 5, 40_000
	recs := benchRecords(b, benchSchema(), 8)
	bucket := s3test.Start(b, "lake").Bucket(b, "lake", "")
	var peakInuse, peakSys atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakInuse.Load() {
				peakInuse.Store(ms.HeapInuse)
			}
			if ms.Sys > peakSys.Load() {
				peakSys.Store(ms.Sys)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var rows atomic.Int64
	run := 0
	for b.Loop() {
		run++
		s, err := New(b.Context(), Options{Bucket: bucket, Display: "s3://lake", RunID: fmt.Sprintf("bench-%d", run), RunStart: testRunStart})
		if err != nil {
			b.Fatal(err)
		}
		var g errgroup.Group
		for i := range streams {
			g.Go(func() error {
				f, err := s.Create(b.Context(), fmt.Sprintf("stream%d", i), benchSchema())
				if err != nil {
					return err
				}
				for j := 0; j*1000 < rowsPerStream; j++ {
					if err := f.Write(recs[j%len(recs)]); err != nil {
						f.Abort()
						return err
					}
				}
				rc, err := f.Commit()
				rows.Add(rc.Rows)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(rows.Load())/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peakInuse.Load())/(1<<20), "peak-heapinuse-MiB")
	b.ReportMetric(float64(peakSys.Load())/(1<<20), "peak-sys-MiB")
}
