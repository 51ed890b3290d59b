package state

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad: Load never panics, refuses only with ErrCorrupt or ErrVersion,
// and whatever it accepts is a state that Save can write and Load reads back
// unchanged (a file extract accepts must never brick the next run).
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"",
		"null",
		"[]",
		"{}",
		`{"version":1}`,
		`{"version":1,"account_id":"1234567_SB1","streams":{},"updated_at":"2024-01-01T00:00:00Z"}`,
		`{"version":1,"account_id":"a","streams":{"customer":{"watermark":"2024-11-03T01:30:00.123456789Z","rows_total":1500,"files_total":3,"updated_at":"2024-11-03T12:00:00Z"},` +
			`"transaction":{"pass":{"lower":"2024-11-01T00:00:00+01:00","upper":"2024-11-03T13:00:00+01:00","after_cursor":"2024-11-03 01:30:00","after_id":98765,"rows":4200},` +
			`"rows_total":100000,"files_total":42,"updated_at":"2024-11-03T12:00:00Z"}},"updated_at":"2024-11-03T12:00:00Z","future":[1,{"x":null}]}`,
		`{"version":1.0}`,
		`{"version":"1"}`,
		`{"version":99}`,
		`{"version":0}`,
		`{"Version":1,"VERSION":2}`,
		`{"version":1,"streams":{"s":{"pass":{"lower":"2024-01-02T00:00:00Z","upper":"2024-01-01T00:00:00Z"}}}}`,
		`{"version":1,"streams":{"s":{"rows_total":-1}}}`,
		`{"version":1,"streams":{"s":null,"\u00ff\xff":{}}}`,
		`{"version":1,"streams":{"s":{"watermark":"0000-01-01T00:00:00+01:00"}}}`,
		`{"version":1,"updated_at":"9999-12-31T23:59:59-01:00"}`,
		`{"version":1,"streams":{"s":{"updated_at":"2024-01-01T00:00:00Z","pass":null}}}`,
		`{"version":1,"account_id":"<&>\u2028","streams":{"s":{"pass":{"upper":"2024-01-01T00:00:00Z","after_cursor":"\u0000"}}}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// decode is all of Load but the os.ReadFile. Fuzzing it in memory
		// keeps the disk out of the loop (ext4 flushes a truncated-and-
		// rewritten file on close, which stalled the fuzzer); Load on real
		// files is covered by the other tests.
		const path = "/fuzz/state.json"
		got, err := decode(path, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("Load refused with an unclassified error: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if got.Version != Version || got.Streams == nil {
			t.Fatalf("accepted file has version %d, streams %v", got.Version, got.Streams)
		}

		// Re-save with the encoder Save uses and load the result again.
		out, err := encode(got)
		if err != nil {
			t.Fatalf("accepted file cannot be re-encoded: %v", err)
		}
		again, err := decode(path, out)
		if err != nil {
			t.Fatalf("re-saved file refused: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip changed the state:\n got  %+v\n then %+v", got, again)
		}
		// Saving is deterministic: the same state gives the same bytes.
		if out2, _ := encode(again); string(out2) != string(out) {
			t.Fatalf("re-encoding is not stable:\n%s\n%s", out, out2)
		}
	})
}
