package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/extract-dev/extract/schema"
)

func singerTestSchema() *arrow.Schema {
	key := arrow.NewMetadata([]string{schema.MetaPrimaryKey}, []string{"true"})
	cur := arrow.NewMetadata([]string{schema.MetaCursor}, []string{"true"})
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Metadata: key},
		{Name: "lastmodifieddate", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true, Metadata: cur},
		{Name: "since", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "_deleted", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
}

// TestSingerCommitWritesSchemaThenRecords: nothing reaches the output before Commit;
// Commit writes the SCHEMA once per schema, then one RECORD per row, with
// _sdc_deleted_at on tombstones only.
func TestSingerCommitWritesSchemaThenRecords(t *testing.T) {
	var out bytes.Buffer
	sw := NewSingerWriter(&out)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := New(context.Background(), Options{Singer: sw, RunID: "r1", RunStart: now, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sc := singerTestSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(now.UnixMicro()), arrow.Timestamp(now.UnixMicro() + 1)}, nil)
	b.Field(2).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(now), 0}, []bool{true, false})
	lb := b.Field(3).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	lb.AppendNull()
	b.Field(4).(*array.Float64Builder).AppendValues([]float64{1.5, 0}, []bool{true, false})
	b.Field(5).(*array.BooleanBuilder).AppendValues([]bool{false, true}, nil)
	rec := b.NewRecord()
	defer rec.Release()

	for range 2 {
		f, err := s.Create(context.Background(), "customer", sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 && sw.Records("customer") == 0 {
			t.Fatal("records reached the output before Commit")
		}
		if _, err := f.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`{"type":"SCHEMA","stream":"customer","schema":{"properties":{"_deleted":{"type":["null","boolean"]},"_sdc_deleted_at":{"format":"date-time","type":["null","string"]},"id":{"type":"integer"},"lastmodifieddate":{"format":"date-time","type":["null","string"]},"score":{"type":["null","number"]},"since":{"format":"date","type":["null","string"]},"tags":{"items":{"type":"integer"},"type":["null","array"]}},"required":["id"],"type":"object"},"key_properties":["id"],"bookmark_properties":["lastmodifieddate"]}`,
		`{"type":"RECORD","stream":"customer","record":{"id":7,"lastmodifieddate":"2026-01-02T03:04:05Z","since":"2026-01-02","tags":[1,2],"score":1.5,"_deleted":false},"time_extracted":"2026-01-02T03:04:05Z"}`,
		`{"type":"RECORD","stream":"customer","record":{"id":8,"lastmodifieddate":"2026-01-02T03:04:05.000001Z","since":null,"tags":null,"score":null,"_deleted":true,"_sdc_deleted_at":"2026-01-02T03:04:05.000001Z"},"time_extracted":"2026-01-02T03:04:05Z"}`,
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5 (one SCHEMA, four RECORDs):\n%s", len(lines), out.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	if lines[3] != want[1] {
		t.Errorf("the second file repeated the SCHEMA or changed its records: %s", lines[3])
	}
	if err := sw.WriteState(map[string]any{"bookmarks": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	all := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(all[len(all)-1]), &last); err != nil || last["type"] != "STATE" {
		t.Fatalf("last line %v (%v)", last, err)
	}
}

func TestSingerAbortWritesNothing(t *testing.T) {
	var out bytes.Buffer
	now := time.Now()
	s, err := New(context.Background(), Options{Singer: NewSingerWriter(&out), RunID: "r1", RunStart: now})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Create(context.Background(), "task", singerTestSchema())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil || out.Len() != 0 {
		t.Fatalf("abort: %v, output %q", err, out.String())
	}
	if _, err := New(context.Background(), Options{Singer: NewSingerWriter(&out), Dir: t.TempDir(), RunID: "r1", RunStart: now}); err == nil {
		t.Fatal("a Singer sink with a directory too was accepted")
	}
}
