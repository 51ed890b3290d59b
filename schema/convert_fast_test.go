package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// fastZones are zones with the transitions that matter: DST of one hour (both
// hemispheres), of half an hour (Lord Howe), none (Kolkata, UTC), a fixed offset, a
// zone whose offset changed for good (Pyongyang 2015, 2018) and one that skipped a day
// (Apia 2011).
var fastZones = []string{"America/Los_Angeles", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe",
	"Asia/Kolkata", "UTC", "Asia/Pyongyang", "Pacific/Apia", "America/St_Johns"}

// TestWallInstantsMatchesLegacy sweeps wall times about every half hour
// through years with transitions, through WallInstants (shared cache), a Builder (its
// own cache) and the legacy search, which must all agree.
func TestWallInstantsMatchesLegacy(t *testing.T) {
	locs := []*time.Location{time.FixedZone("X", -(3*3600 + 1800))}
	for _, name := range fastZones {
		locs = append(locs, mustLoad(t, name))
	}
	years := []int{1970, 2011, 2015, 2018, 2024, 2040}
	step := 29*time.Minute + 59*time.Second
	if testing.Short() || raceEnabled {
		step = 3*time.Hour + 1
	}
	for _, loc := range locs {
		tb := Table{Name: "t", PrimaryKey: "id", Columns: []Column{{Name: "id", Kind: Integer}, {Name: "at", Kind: DateTime}}}
		b := NewBuilder(memory.NewGoAllocator(), tb, loc)
		for _, year := range years {
			var want []int64
			start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
			for w := start; w.Year() == year; w = w.Add(step) {
				s := w.Format(DateTimeLayout)
				first, last, ok := WallInstants(s, loc)
				lfirst, llast, lok := legacyWallInstants(s, loc)
				if ok != lok || first != lfirst || last != llast {
					t.Fatalf("%s %s: WallInstants = %v %v %v, legacy %v %v %v", loc, s, first, last, ok, lfirst, llast, lok)
				}
				if err := b.Append(RawRow{"id": "1", "at": s}); err != nil {
					t.Fatal(err)
				}
				want = append(want, lfirst.UnixMicro())
			}
			rec := b.NewRecord()
			got := rec.Column(1).(*array.Timestamp).TimestampValues()
			for i := range want {
				if int64(got[i]) != want[i] {
					t.Fatalf("%s %d, row %d: Builder %d, legacy %d", loc, year, i, got[i], want[i])
				}
			}
			rec.Release()
		}
		b.Release()
	}
}

// TestFastParsersMatchLegacy checks the date, id and id-list fast paths on edge cases.
func TestFastParsersMatchLegacy(t *testing.T) {
	dates := []string{"2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "0001-01-01", "0000-01-01", "9999-12-31",
		"1969-12-31", "1970-01-01", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00", "2024-1-01", "2024/01/01",
		"2024-01-01 ", "+024-01-01", "２０２４-01-01", ""}
	for y := 1; y <= 2400; y += 7 {
		dates = append(dates, fmt.Sprintf("%04d-03-01", y), fmt.Sprintf("%04d-02-28", y), fmt.Sprintf("%04d-12-31", y))
	}
	for _, s := range dates {
		got, ok := ParseDate(s)
		want, lok := legacyParseDate(s)
		if ok != lok || got != want {
			t.Errorf("ParseDate(%q) = %v %v, legacy %v %v", s, got, ok, want, lok)
		}
		if days, ok := parseDays(s); ok && days != int64(arrow.Date32FromTime(want)) {
			t.Errorf("parseDays(%q) = %d, want %d", s, days, arrow.Date32FromTime(want))
		}
	}
	ints := []string{"0", "-0", "+0", "7", "-7", "+7", "007", "123456789012345678", "-123456789012345678",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999",
		"", "-", "+", "1_000", "0x10", " 1", "1 ", "1.0", "1e3", "١٢"}
	for _, s := range ints {
		got, ok := parseInt(s)
		want, err := legacyParseInt(s)
		if ok != (err == nil) || got != want {
			t.Errorf("parseInt(%q) = %d %v, strconv %d %v", s, got, ok, want, err)
		}
	}
	numbers := []string{"0", "-0", "+0", "7", "-7", ".5", "-.25", "5.", "+.5", ".", "-", "+", "", "1.", "0.1", "0.3",
		"123456789012345", "1234567890123456", "12345678901234567890", "000000000000001", "0000000000000001",
		"9007199254740993", "0.000000000000001", "1.000000000000001", "99999999999999.9", "1e5", "1E+21",
		"1_000", "0x10", "NaN", "inf", " 1", "1 ", "1.2.3", "--1", "-+1", "12,5", "３"}
	for _, s := range numbers {
		got, ok := ParseNumber(s)
		want, lok := legacyParseNumber(s)
		if ok != lok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("ParseNumber(%q) = %v %v, legacy %v %v", s, got, ok, want, lok)
		}
	}
	lists := []string{"1, 2, 3", "1,2", "4\u00055", "[7]", "[ 7 ; 8 ]", "", "[]", "a,b", "1,,2", " 1 2\t3\r\n4 ",
		"9223372036854775808", "1,\u00a02", "\u00a01,2\u00a0", "1，2", "-1,+2", "[1,2", "1]", "\xff1,2", "1\xff,2"}
	for _, s := range lists {
		got, ok := ParseIDList(s, []int64{99})
		want, lok := legacyParseIDList(s, []int64{99})
		if ok != lok || !slices.Equal(got, want) {
			t.Errorf("ParseIDList(%q) = %v %v, legacy %v %v", s, got, ok, want, lok)
		}
	}
}

func FuzzFastParsersMatchLegacy(f *testing.F) {
	for _, s := range []string{"2024-11-03 01:30:00", "2024-03-10 02:30:00", "2024-02-29", "1, 2, 3", "-42", "+7", "-.25", "12.5", "123456789012345.6"} {
		f.Add(s)
	}
	la := mustLoad(f, "America/Los_Angeles")
	f.Fuzz(func(t *testing.T, s string) {
		first, last, ok := WallInstants(s, la)
		lfirst, llast, lok := legacyWallInstants(s, la)
		if ok != lok || first != lfirst || last != llast {
			t.Fatalf("WallInstants(%q) = %v %v %v, legacy %v %v %v", s, first, last, ok, lfirst, llast, lok)
		}
		if d, ok := ParseDate(s); true {
			ld, lok := legacyParseDate(s)
			if ok != lok || d != ld {
				t.Fatalf("ParseDate(%q) = %v %v, legacy %v %v", s, d, ok, ld, lok)
			}
		}
		n, ok := parseInt(s)
		ln, err := legacyParseInt(s)
		if ok != (err == nil) || n != ln {
			t.Fatalf("parseInt(%q) = %d %v, strconv %d %v", s, n, ok, ln, err)
		}
		f, ok := ParseNumber(s)
		lf, lok := legacyParseNumber(s)
		if ok != lok || math.Float64bits(f) != math.Float64bits(lf) {
			t.Fatalf("ParseNumber(%q) = %v %v, legacy %v %v", s, f, ok, lf, lok)
		}
		ids, ok := ParseIDList(s, nil)
		lids, lok := legacyParseIDList(s, nil)
		if ok != lok || !slices.Equal(ids, lids) {
			t.Fatalf("ParseIDList(%q) = %v %v, legacy %v %v", s, ids, ok, lids, lok)
		}
	})
}

// TestBuilderReusesBatchSizes: the builder reserves a new batch like the last one and
// still builds exactly the rows appended, batch after batch.
func TestBuilderReusesBatchSizes(t *testing.T) {
	la := mustLoad(t, "America/Los_Angeles")
	tb := Table{Name: "t", PrimaryKey: "id", Columns: []Column{{Name: "id", Kind: Integer}, {Name: "s", Kind: Text},
		{Name: "l", Kind: IntegerList}, {Name: "f", Kind: Percent}}}
	b := NewBuilder(memory.NewGoAllocator(), tb, la)
	defer b.Release()
	for batch, n := range []int{1000, 3, 0, 1500, 1} {
		for i := range n {
			row := RawRow{"id": fmt.Sprint(i), "s": fmt.Sprintf("text %d of batch %d, long enough to need the heap", i, batch)}
			if i%3 == 0 {
				row["l"] = fmt.Sprintf("%d, %d", i, batch)
				row["f"] = "12.5%"
			}
			if err := b.Append(row); err != nil {
				t.Fatal(err)
			}
		}
		rec := b.NewRecord()
		if int(rec.NumRows()) != n {
			t.Fatalf("batch %d: %d rows, want %d", batch, rec.NumRows(), n)
		}
		for i := range n {
			want := fmt.Sprintf("text %d of batch %d, long enough to need the heap", i, batch)
			if got := rec.Column(1).(*array.String).Value(i); got != want {
				t.Fatalf("batch %d row %d: %q", batch, i, got)
			}
			l := rec.Column(2).(*array.List)
			if (i%3 == 0) != l.IsValid(i) {
				t.Fatalf("batch %d row %d: list valid %v", batch, i, l.IsValid(i))
			}
			if i%3 == 0 {
				lo, hi := l.ValueOffsets(i)
				vals := l.ListValues().(*array.Int64).Int64Values()[lo:hi]
				if !slices.Equal(vals, []int64{int64(i), int64(batch)}) {
					t.Fatalf("batch %d row %d: list %v", batch, i, vals)
				}
				if f := rec.Column(3).(*array.Float64).Value(i); f != 12.5 {
					t.Fatalf("percent %v", f)
				}
			}
		}
		rec.Release()
	}
}

// legacyParseInt is what Integer cells were parsed with before parseInt.
func legacyParseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
