package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// decodeLine parses one NDJSON line token by token, so key order is checked too.
func decodeLine(t *testing.T, line []byte) (keys []string, vals []any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line does not start an object: %v %v: %.80q", tok, err, line)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		v, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if v == json.Delim('[') {
			// A list<int64> cell: collect its elements; [] stays a non-nil empty slice.
			elems := []json.Number{}
			for dec.More() {
				e, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				n, ok := e.(json.Number)
				if !ok {
					t.Fatalf("key %v: array element %v (%T) is not a number", k, e, e)
				}
				elems = append(elems, n)
			}
			if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
				t.Fatalf("key %v: array not closed: %v %v", k, tok, err)
			}
			v = elems
		}
		keys = append(keys, k.(string))
		vals = append(vals, v)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		t.Fatalf("line does not end the object: %v %v", tok, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("trailing data after the object: %v", err)
	}
	return keys, vals
}

// jsonCell converts an expected cell to what decodeLine should return for it, checking
// the text form of numbers and times on the way.
func checkJSONCell(t *testing.T, want, got any) bool {
	t.Helper()
	switch w := want.(type) {
	case nil:
		return got == nil
	case int64:
		n, ok := got.(json.Number)
		return ok && n.String() == strconv.FormatInt(w, 10)
	case float64:
		n, ok := got.(json.Number)
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		return err == nil && math.Float64bits(f) == math.Float64bits(w)
	case bool, string:
		return got == want
	case arrow.Timestamp:
		s, ok := got.(string)
		if !ok {
			return false
		}
		p, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && p.UnixMicro() == int64(w) && strings.HasSuffix(s, "Z") &&
			s == time.UnixMicro(int64(w)).UTC().Format(time.RFC3339Nano)
	case arrow.Date32:
		s, ok := got.(string)
		return ok && s == w.ToTime().Format(time.DateOnly)
	case []int64:
		g, ok := got.([]json.Number)
		if !ok || len(g) != len(w) {
			return false
		}
		for j, x := range w {
			if g[j].String() != strconv.FormatInt(x, 10) {
				return false
			}
		}
		return true
	}
	t.Fatalf("unexpected expected value %T", want)
	return false
}

func TestNDJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		rows    int
		batches []int
	}{
		{"one row", 1, []int{1}},
		{"several batches", 1050, []int{1, 300, 349, 400}},
		{"zero rows", 0, []int{1}},
	}
	for _, sc := range roundTripSchemas {
		schema := sc.schema()
		for _, tt := range tests {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				s := newTestSink(t, NDJSON, nil)
				rows := sc.rows(tt.rows, true)
				rc := writeBatches(t, s, "phonecall", schema, rows, tt.batches...)
				if !strings.HasSuffix(rc.Path, ".ndjson") {
					t.Errorf("path %s, want .ndjson", rc.Path)
				}
				data, err := os.ReadFile(rc.Path)
				if err != nil {
					t.Fatal(err)
				}
				if rc.Bytes != int64(len(data)) {
					t.Errorf("receipt bytes %d, file has %d", rc.Bytes, len(data))
				}
				if !utf8.Valid(data) {
					t.Error("output is not valid UTF-8")
				}
				sc := bufio.NewScanner(bytes.NewReader(data))
				sc.Buffer(nil, 1<<20)
				n := 0
				for ; sc.Scan(); n++ {
					keys, vals := decodeLine(t, sc.Bytes())
					if len(keys) != schema.NumFields() {
						t.Fatalf("line %d has %d keys, want %d", n, len(keys), schema.NumFields())
					}
					for c, f := range schema.Fields() {
						if keys[c] != f.Name {
							t.Fatalf("line %d key %d = %q, want %q", n, c, keys[c], f.Name)
						}
						if !checkJSONCell(t, rows[n][c], vals[c]) {
							t.Errorf("line %d %s = %s, want %s", n, f.Name, show(vals[c]), show(rows[n][c]))
						}
					}
				}
				if err := sc.Err(); err != nil {
					t.Fatal(err)
				}
				if n != tt.rows {
					t.Errorf("%d lines, want %d", n, tt.rows)
				}
			})
		}
	}
}

func TestNDJSONGolden(t *testing.T) {
	scalarRows := []row{
		{int64(1), int64(0), 0.0, -2.25, false, true, "", "a<b>&c", micros("2024-03-10T09:30:00Z"),
			micros("1969-12-31T23:59:59.999999Z"), days("1970-01-01"), days("2099-12-31")},
		{int64(2), nil, nil, 1e21, nil, false, nil, "é 中文 😀 \"q\" \\ \n\t\x00\u2028", nil,
			micros("2024-11-03T09:30:00.5Z"), nil, days("1900-02-28")},
		{int64(-3), int64(math.MinInt64), 1e-7, 0.1, true, false, "x", "", micros("2024-11-03T08:00:00.000123Z"),
			micros("0001-01-01T00:00:00Z"), days("2000-02-29"), days("9999-12-31")},
	}
	// The same rows with listSchema's list columns (see listFields for their order):
	// NULL, empty, one element, several, negative and large ids.
	lists := [][]any{
		{nil, []int64{}, []int64{}, []int64{1}, nil},
		{[]int64{}, nil, []int64{7}, nil, []int64{-1, 0, 1}},
		{[]int64{1, 2, 3}, []int64{math.MaxInt64, math.MinInt64}, []int64{-9_007_199_254_740_993, 42}, []int64{}, []int64{123456789012}},
	}
	listRows := make([]row, len(scalarRows))
	for i, r := range scalarRows {
		listRows[i] = slices.Clone(r)
		for j, lf := range listFields {
			listRows[i] = slices.Insert(listRows[i], lf.at, lists[i][j])
		}
	}
	tests := []struct {
		name   string
		schema *arrow.Schema
		rows   []row
		golden string
	}{
		{"scalars", testSchema(), scalarRows, "golden.ndjson"},
		{"lists", listSchema(), listRows, "golden_lists.ndjson"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSink(t, NDJSON, nil)
			rc := writeBatches(t, s, "calendarevent", tt.schema, tt.rows, 2)
			got, err := os.ReadFile(rc.Path)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestAppendJSONString compares the escaper with encoding/json (HTML escaping off),
// including invalid UTF-8, every control character and random bytes.
func TestAppendJSONString(t *testing.T) {
	cases := []string{"", "plain", "<>&", "\"\\/", "é中😀", "\xff", "a\xc3", "\xed\xa0\x80", "\u2028\u2029", "\x7f", "\ufffd"}
	for b := range 0x20 {
		cases = append(cases, "x"+string(rune(b))+"y")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := appendJSONString(nil, []byte(s))
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want.String())
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	cases := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1.7976931348623157e308, 5e-324, 1e100, -1e-100}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			cases = append(cases, f)
		}
	}
	for _, f := range cases {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSONFloat(nil, f)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendJSONFloat(%v) = %s, %v; want %s", f, got, err, want)
		}
	}
	for _, f := range nonJSONFloats {
		if _, err := appendJSONFloat(nil, f); err == nil {
			t.Errorf("appendJSONFloat(%v) succeeded, want error", f)
		}
	}
}

// TestAppendTimestampAndDate compares the hand-written calendar code with package time.
func TestAppendTimestampAndDate(t *testing.T) {
	lo, hi := int64(minDay)*microsPerDay, (int64(maxDay)+1)*microsPerDay-1
	ts := []int64{0, -1, 1, lo, hi, 500_000, -500_000, int64(micros("2024-11-03T09:00:00Z")), 951782400000000}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		ts = append(ts, lo+rng.Int64N(hi-lo))
	}
	for _, us := range ts {
		want := `"` + time.UnixMicro(us).UTC().Format(time.RFC3339Nano) + `"`
		got, err := appendTimestamp(nil, us)
		if err != nil || string(got) != want {
			t.Errorf("appendTimestamp(%d) = %s, %v; want %s", us, got, err, want)
		}
	}
	for _, us := range []int64{lo - 1, hi + 1, math.MinInt64, math.MaxInt64} {
		if got, err := appendTimestamp(nil, us); err == nil {
			t.Errorf("appendTimestamp(%d) = %s, want error", us, got)
		}
	}
	ds := []int64{0, -1, 1, minDay, maxDay, -719468, -719469, 11016, -25508}
	for range 5000 {
		ds = append(ds, minDay+rng.Int64N(maxDay-minDay+1))
	}
	for _, d := range ds {
		want := `"` + time.Unix(d*86400, 0).UTC().Format(time.DateOnly) + `"`
		got, err := appendDate(nil, d)
		if err != nil || string(got) != want {
			t.Errorf("appendDate(%d) = %s, %v; want %s", d, got, err, want)
		}
	}
	for _, d := range []int64{minDay - 1, maxDay + 1, math.MinInt32, math.MaxInt32} {
		if got, err := appendDate(nil, d); err == nil {
			t.Errorf("appendDate(%d) = %s, want error", d, got)
		}
	}
}

func TestNDJSONRejectsNonFinite(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	for _, f := range nonJSONFloats {
		s := newTestSink(t, NDJSON, nil)
		file, err := s.Create(t.Context(), "task", schema)
		if err != nil {
			t.Fatal(err)
		}
		rec := buildRecord(t, schema, []row{{int64(1), 1.0}, {int64(2), f}})
		err = file.Write(rec)
		rec.Release()
		if err == nil || !strings.Contains(err.Error(), `"amount"`) || !strings.Contains(err.Error(), "task") {
			t.Errorf("Write(%v) error = %v, want one naming stream task and column amount", f, err)
		}
		if _, err := file.Commit(); err == nil {
			t.Error("Commit after a failed Write succeeded")
		}
		if err := file.Abort(); err != nil {
			t.Error(err)
		}
		assertNoFiles(t, runDirOf(s, "task"))
	}
}
