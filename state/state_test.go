package state

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAccount = "1234567_SB1"

var (
	berlin  = time.FixedZone("CET", 3600)
	fixedAt = time.Date(2024, 11, 3, 12, 0, 0, 0, time.UTC)
)

// openT opens a Store with a fixed clock and closes it when the test ends.
func openT(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, testAccount)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.now = func() time.Time { return fixedAt.In(berlin) } // not UTC on purpose
	t.Cleanup(func() { s.Close() })
	return s
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirNames lists dir's entries, to catch leftover temp files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func mustEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)

	saves := []struct {
		name string
		in   Stream
		want Stream
	}{
		{
			name: "customer", // last pass completed: no Pass
			in: Stream{
				Watermark:  time.Date(2024, 11, 3, 2, 30, 0, 123456789, berlin),
				RowsTotal:  1500,
				FilesTotal: 3,
				UpdatedAt:  time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), // ignored: Save stamps it
			},
			want: Stream{
				Watermark:  time.Date(2024, 11, 3, 1, 30, 0, 123456789, time.UTC),
				RowsTotal:  1500,
				FilesTotal: 3,
				UpdatedAt:  fixedAt,
			},
		},
		{
			name: "transaction", // stopped inside a pass
			in: Stream{
				Watermark: time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC),
				Pass: &Pass{
					Lower:       time.Date(2024, 11, 1, 1, 0, 0, 0, berlin),
					Upper:       time.Date(2024, 11, 3, 13, 0, 0, 0, berlin),
					AfterCursor: "2024-11-03 01:30:00",
					AfterID:     98765,
					Rows:        4200,
				},
				RowsTotal:  100000,
				FilesTotal: 42,
			},
			want: Stream{
				Watermark: time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC),
				Pass: &Pass{
					Lower:       time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC),
					Upper:       time.Date(2024, 11, 3, 12, 0, 0, 0, time.UTC),
					AfterCursor: "2024-11-03 01:30:00",
					AfterID:     98765,
					Rows:        4200,
				},
				RowsTotal:  100000,
				FilesTotal: 42,
				UpdatedAt:  fixedAt,
			},
		},
		{
			name: "item", // first pass of a full load: zero watermark, zero lower bound
			in:   Stream{Pass: &Pass{Upper: time.Date(2024, 11, 3, 11, 59, 0, 0, time.UTC)}},
			want: Stream{Pass: &Pass{Upper: time.Date(2024, 11, 3, 11, 59, 0, 0, time.UTC)}, UpdatedAt: fixedAt},
		},
	}
	wantFile := File{Version: Version, AccountID: testAccount, Streams: map[string]Stream{}, UpdatedAt: fixedAt}
	for _, sv := range saves {
		if err := s.Save(sv.name, sv.in); err != nil {
			t.Fatalf("Save %s: %v", sv.name, err)
		}
		wantFile.Streams[sv.name] = sv.want
		got, ok := s.Stream(sv.name)
		if !ok {
			t.Fatalf("Stream(%q) missing after Save", sv.name)
		}
		mustEqual(t, "Stream "+sv.name, got, sv.want)
		if got.Watermark.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
			t.Errorf("Stream(%q) times not in UTC: %v %v", sv.name, got.Watermark.Location(), got.UpdatedAt.Location())
		}
	}
	mustEqual(t, "Snapshot", s.Snapshot(), wantFile)
	if _, ok := s.Stream("nope"); ok {
		t.Error("Stream(nope) reported present")
	}

	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	mustEqual(t, "Load", *loaded, wantFile)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, path)
	mustEqual(t, "reopened Snapshot", s2.Snapshot(), wantFile)
	if got, _ := s2.Stream("transaction"); got.Pass.Lower.Location() != time.UTC {
		t.Errorf("loaded Pass.Lower location %v, want UTC", got.Pass.Lower.Location())
	}
}

// The file format is a contract with operators and older/newer builds:
// stable key order, indentation, omitted zero watermark and nil pass,
// trailing newline.
func TestFileFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	if err := s.Save("b", Stream{RowsTotal: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("a", Stream{
		Watermark: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Pass:      &Pass{Lower: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Upper: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), Rows: 7},
	}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "account_id": "1234567_SB1",
  "streams": {
    "a": {
      "watermark": "2024-01-02T03:04:05Z",
      "pass": {
        "lower": "2024-01-02T03:04:05Z",
        "upper": "2024-01-03T00:00:00Z",
        "rows": 7
      },
      "rows_total": 0,
      "files_total": 0,
      "updated_at": "2024-11-03T12:00:00Z"
    },
    "b": {
      "rows_total": 1,
      "files_total": 0,
      "updated_at": "2024-11-03T12:00:00Z"
    }
  },
  "updated_at": "2024-11-03T12:00:00Z"
}
`
	if got := string(readFile(t, path)); got != want {
		t.Fatalf("file contents:\n%s\nwant:\n%s", got, want)
	}
}

func TestMissingFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "state.json")

	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load missing: %v", err)
	}
	mustEqual(t, "Load missing", *f, File{Version: Version, Streams: map[string]Stream{}})

	s := openT(t, path)
	mustEqual(t, "Open missing", s.Snapshot(), File{Version: Version, AccountID: testAccount, Streams: map[string]Stream{}})
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created the state file (stat err %v); it must write nothing", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("created directory mode %v, want 0700", got)
	}
}

// A file with no account (e.g. hand-written) adopts the run's account.
func TestAdoptAccount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"streams":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openT(t, path)
	if err := s.Save("x", Stream{}); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.AccountID != testAccount {
		t.Errorf("AccountID %q, want %q", f.AccountID, testAccount)
	}
}

// Unknown fields are tolerated for forward compatibility within a version.
func TestUnknownFieldsAllowed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	data := `{"version":1,"account_id":"1234567_SB1","future":{"x":[1,2]},
	  "streams":{"s":{"rows_total":5,"files_total":1,"updated_at":"2024-01-01T00:00:00+02:00","later":true}},
	  "updated_at":"2024-01-01T00:00:00Z"}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	mustEqual(t, "stream", f.Streams["s"], Stream{RowsTotal: 5, FilesTotal: 1, UpdatedAt: time.Date(2023, 12, 31, 22, 0, 0, 0, time.UTC)})
}

func TestRefusedFiles(t *testing.T) {
	const okStream = `{"rows_total":1,"files_total":1,"updated_at":"2024-01-01T00:00:00Z"}`
	file := func(version, account, streams string) string {
		return fmt.Sprintf(`{"version":%s,"account_id":%q,"streams":{%s},"updated_at":"2024-01-01T00:00:00Z"}`, version, account, streams)
	}
	tests := []struct {
		name     string
		data     string
		want     error
		loadOK   bool     // Load does not check the account, so it accepts the file
		contains []string // message fragments besides the path
	}{
		{name: "empty", data: "", want: ErrCorrupt, contains: []string{"is empty"}},
		{name: "whitespace", data: " \n", want: ErrCorrupt, contains: []string{"is empty"}},
		{name: "truncated", data: file("1", testAccount, `"s":`+okStream)[:40], want: ErrCorrupt, contains: []string{"not valid JSON", "at byte 40"}},
		{name: "garbage", data: "\x00\x00\x00\x00", want: ErrCorrupt, contains: []string{"at byte 1"}},
		{name: "trailing garbage", data: file("1", testAccount, "") + "}", want: ErrCorrupt, contains: []string{"not valid JSON"}},
		{name: "null", data: "null", want: ErrCorrupt, contains: []string{"holds null"}},
		{name: "array", data: `[{"version":1}]`, want: ErrCorrupt, contains: []string{"holds an array"}},
		{name: "string", data: `"state"`, want: ErrCorrupt, contains: []string{"holds a string"}},
		{name: "missing version", data: `{"account_id":"a","streams":{}}`, want: ErrCorrupt, contains: []string{"no version"}},
		{name: "null version", data: file("null", testAccount, ""), want: ErrCorrupt, contains: []string{"no version"}},
		{name: "version 0", data: file("0", testAccount, ""), want: ErrCorrupt, contains: []string{"invalid version 0"}},
		{name: "version -1", data: file("-1", testAccount, ""), want: ErrCorrupt, contains: []string{"invalid version -1"}},
		{name: "version 1.0", data: file("1.0", testAccount, ""), want: ErrCorrupt, contains: []string{"want an integer"}},
		{name: "version string", data: file(`"1"`, testAccount, ""), want: ErrCorrupt, contains: []string{"want an integer"}},
		{name: "version 99", data: file("99", testAccount, ""), want: ErrVersion,
			contains: []string{"written by a newer extract (version 99", "upgrade extract or point --state at another file"}},
		{name: "version huge", data: file("99999999999999999999999", testAccount, ""), want: ErrVersion},
		{name: "other account", data: file("1", "7654321", `"s":`+okStream), want: ErrAccount, loadOK: true,
			contains: []string{`"7654321"`, `"` + testAccount + `"`}},
		{name: "streams not object", data: `{"version":1,"streams":[]}`, want: ErrCorrupt, contains: []string{"at byte"}},
		{name: "bad time", data: file("1", testAccount, `"s":{"updated_at":"yesterday"}`), want: ErrCorrupt},
		{name: "upper equals lower", data: file("1", testAccount,
			`"s":{"pass":{"lower":"2024-01-01T00:00:00Z","upper":"2024-01-01T01:00:00+01:00","rows":0}}`),
			want: ErrCorrupt, contains: []string{`stream "s"`, "not after lower"}},
		{name: "upper before lower", data: file("1", testAccount,
			`"s":{"pass":{"lower":"2024-01-02T00:00:00Z","upper":"2024-01-01T00:00:00Z","rows":0}}`),
			want: ErrCorrupt, contains: []string{`stream "s"`, "not after lower"}},
		{name: "negative rows_total", data: file("1", testAccount, `"orders":{"rows_total":-1}`), want: ErrCorrupt,
			contains: []string{`stream "orders"`, "negative rows_total"}},
		{name: "negative files_total", data: file("1", testAccount, `"orders":{"files_total":-3}`), want: ErrCorrupt,
			contains: []string{`stream "orders"`, "negative files_total"}},
		{name: "negative pass rows", data: file("1", testAccount,
			`"orders":{"pass":{"lower":"2024-01-01T00:00:00Z","upper":"2024-01-02T00:00:00Z","rows":-5}}`),
			want: ErrCorrupt, contains: []string{`stream "orders"`, "negative pass rows"}},
		{name: "rows overflow", data: file("1", testAccount, `"s":{"rows_total":9223372036854775808}`), want: ErrCorrupt},
		{name: "year -1 in UTC", data: file("1", testAccount, `"s":{"watermark":"0000-01-01T00:00:00+01:00"}`), want: ErrCorrupt,
			contains: []string{"outside 0..9999"}},
		{name: "empty stream name", data: file("1", testAccount, `"":`+okStream), want: ErrCorrupt, contains: []string{"empty name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(path)

			for attempt := range 2 { // the second attempt proves the lock was released
				s, err := Open(path, testAccount)
				if err == nil {
					s.Close()
					t.Fatalf("Open accepted %q", tt.data)
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("attempt %d: Open error %v, want errors.Is %v", attempt, err, tt.want)
				}
				for _, frag := range append([]string{path}, tt.contains...) {
					if !strings.Contains(err.Error(), frag) {
						t.Errorf("error %q does not contain %q", err, frag)
					}
				}
			}

			_, err := Load(path)
			switch {
			case tt.loadOK && err != nil:
				t.Errorf("Load: %v", err)
			case !tt.loadOK && !errors.Is(err, tt.want):
				t.Errorf("Load error %v, want errors.Is %v", err, tt.want)
			}

			if got := string(readFile(t, path)); got != tt.data {
				t.Errorf("refused file modified: %q, was %q", got, tt.data)
			}
			after, _ := os.Stat(path)
			if after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("refused file's mode/mtime changed: %v %v -> %v %v", before.Mode(), before.ModTime(), after.Mode(), after.ModTime())
			}
			mustEqual(t, "directory", dirNames(t, dir), []string{"state.json", "state.json.lock"})
		})
	}
}

func TestLockInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first, err := Open(path, testAccount)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, testAccount)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open while the first holds the lock: %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("state file %s is in use by another extract run (lock %s.lock)", path, path)
	if runtime.GOOS != "windows" && err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	// Load is for `extract state show` and must work while a run holds the lock.
	if _, err := Load(path); err != nil {
		t.Errorf("Load while locked: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	second, err := Open(path, testAccount)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	second.Close()
}

// TestHelperProcess is not a test: other tests run the test binary with
// STATE_TEST_HELPER set to get a second process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("STATE_TEST_HELPER")
	if mode == "" {
		t.Skip("helper process for other tests")
	}
	path := os.Getenv("STATE_TEST_PATH")
	s, err := Open(path, testAccount)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	switch {
	case mode == "hold-lock":
		fmt.Println("locked")
		// Hold the lock until killed; reading stdin blocks forever (the
		// parent never writes), and EOF means the parent is gone.
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	case strings.HasPrefix(mode, "crash-at:"):
		step := strings.TrimPrefix(mode, "crash-at:")
		s.SetFaultHook(func(got string) error {
			if got == step {
				os.Exit(3) // no cleanup, no deferred calls: as close to a crash as a test gets
			}
			return nil
		})
		err := s.Save("new", Stream{RowsTotal: 2})
		fmt.Println("save returned:", err)
		os.Exit(4)
	}
	os.Exit(5)
}

func helperCmd(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	if testing.Short() {
		t.Skip("spawns a process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "STATE_TEST_HELPER="+mode, "STATE_TEST_PATH="+path)
	return cmd
}

func TestLockOtherProcess(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("the fallback lock is not released by process death")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	cmd := helperCmd(t, "hold-lock", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}

	_, err = Open(path, testAccount)
	if !errors.Is(err, ErrLocked) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("Open while another process holds the lock: %v, want ErrLocked", err)
	}

	// Process death must release the lock: no stale lock after a crash.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	s, err := Open(path, testAccount)
	if err != nil {
		t.Fatalf("Open after the holder died: %v", err)
	}
	s.Close()
}

func TestConcurrentSaves(t *testing.T) {
	const streams, saves = 8, 40
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)

	var wg sync.WaitGroup
	for g := range streams {
		wg.Go(func() {
			name := fmt.Sprintf("stream%d", g)
			for i := 1; i <= saves; i++ {
				st, _ := s.Stream(name)
				st.RowsTotal += 10
				st.FilesTotal = int64(i)
				st.Pass = &Pass{Lower: fixedAt, Upper: fixedAt.Add(time.Hour), AfterID: int64(i), Rows: int64(i)}
				if err := s.Save(name, st); err != nil {
					t.Errorf("Save %s: %v", name, err)
					return
				}
			}
		})
	}
	// Readers run alongside so the race detector sees them too.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := s.Snapshot()
				for _, st := range snap.Streams {
					if st.Pass != nil {
						st.Pass.Rows = -1 // a deep copy: must not reach the Store
					}
				}
				if _, err := Load(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Load during Saves: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	want := File{Version: Version, AccountID: testAccount, Streams: map[string]Stream{}, UpdatedAt: fixedAt}
	for g := range streams {
		want.Streams[fmt.Sprintf("stream%d", g)] = Stream{
			Pass:       &Pass{Lower: fixedAt, Upper: fixedAt.Add(time.Hour), AfterID: saves, Rows: saves},
			RowsTotal:  10 * saves,
			FilesTotal: saves,
			UpdatedAt:  fixedAt,
		}
	}
	mustEqual(t, "Snapshot", s.Snapshot(), want)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "file", *f, want)
	mustEqual(t, "directory", dirNames(t, filepath.Dir(path)), []string{"state.json", "state.json.lock"})
}

var errInjected = errors.New("injected fault")

func TestSaveFault(t *testing.T) {
	tests := []struct {
		step        string
		diskHasNext bool // the fault comes after the rename: the new version is complete on disk
	}{
		{stepTempWritten, false},
		{stepTempSynced, false},
		{stepRenamed, true},
	}
	for _, tt := range tests {
		for _, op := range []string{"save", "reset"} {
			t.Run(tt.step+"/"+op, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "state.json")
				s := openT(t, path)
				old := Stream{Watermark: fixedAt, RowsTotal: 1, Pass: &Pass{Lower: fixedAt, Upper: fixedAt.Add(time.Hour), Rows: 1}}
				if err := s.Save("a", old); err != nil {
					t.Fatal(err)
				}
				if err := s.Save("b", Stream{RowsTotal: 3}); err != nil {
					t.Fatal(err)
				}
				oldBytes := readFile(t, path)
				oldSnap := s.Snapshot()

				var steps []string
				s.SetFaultHook(func(step string) error {
					steps = append(steps, step)
					if step == tt.step {
						return errInjected
					}
					return nil
				})
				var err error
				if op == "save" {
					next := old
					next.Pass = &Pass{Lower: fixedAt, Upper: fixedAt.Add(time.Hour), Rows: 999}
					err = s.Save("a", next)
				} else {
					err = s.Reset("a")
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("%s error %v, want the injected fault", op, err)
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.step) {
					t.Errorf("error %q should name the path and the step", err)
				}
				if got := steps[len(steps)-1]; got != tt.step {
					t.Errorf("hook steps %v", steps)
				}

				mustEqual(t, "in-memory state after failed "+op, s.Snapshot(), oldSnap)
				f, err := Load(path)
				if err != nil {
					t.Fatalf("file unreadable after fault: %v", err)
				}
				if tt.diskHasNext {
					a, ok := f.Streams["a"]
					if op == "save" && (!ok || a.Pass.Rows != 999) || op == "reset" && ok {
						t.Errorf("after a fault past the rename the file should hold the new version; has a=%+v (present %v)", a, ok)
					}
				} else if got := readFile(t, path); string(got) != string(oldBytes) {
					t.Errorf("file changed by failed %s:\n%s\nwas:\n%s", op, got, oldBytes)
				}
				mustEqual(t, "directory", dirNames(t, dir), []string{"state.json", "state.json.lock"})

				// Without the fault the store works normally.
				s.SetFaultHook(nil)
				if err := s.Save("c", Stream{}); err != nil {
					t.Fatalf("Save after fault: %v", err)
				}
				if f, err = Load(path); err != nil || len(f.Streams) != len(s.Snapshot().Streams) {
					t.Fatalf("after recovery: %v, %d streams on disk", err, len(f.Streams))
				}
			})
		}
	}
}

// A real crash (process exit, no cleanup) at each step leaves the old or the
// new version, never a fragment; the next Open removes the orphaned temp.
func TestCrashDuringSave(t *testing.T) {
	for _, step := range []string{stepTempWritten, stepTempSynced, stepRenamed} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			s := openT(t, path)
			if err := s.Save("old", Stream{RowsTotal: 1}); err != nil {
				t.Fatal(err)
			}
			oldBytes := readFile(t, path)
			s.Close()

			out, err := helperCmd(t, "crash-at:"+step, path).CombinedOutput()
			if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 3 {
				t.Fatalf("helper: %v\n%s", err, out)
			}

			f, err := Load(path)
			if err != nil {
				t.Fatalf("Load after crash: %v", err)
			}
			_, hasNew := f.Streams["new"]
			if step == stepRenamed {
				if !hasNew {
					t.Errorf("crash after rename: file lacks the new stream: %+v", f)
				}
			} else if got := readFile(t, path); string(got) != string(oldBytes) {
				t.Errorf("crash at %s changed the file:\n%s", step, got)
			}
			temps := slices.DeleteFunc(dirNames(t, dir), func(n string) bool { return !strings.HasPrefix(n, ".state.json.tmp-") })
			if wantTemps := step != stepRenamed; (len(temps) == 1) != wantTemps {
				t.Errorf("orphaned temps %v after crash at %s", temps, step)
			}

			s2 := openT(t, path)
			mustEqual(t, "directory after reopen", dirNames(t, dir), []string{"state.json", "state.json.lock"})
			mustEqual(t, "reopened", s2.Snapshot(), *f)
		})
	}
}

// A real failure, not an injected one: the rename cannot replace a
// directory. (Permission-based failures would not fail when run as root.)
func TestSaveRenameFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := openT(t, path)
	if err := s.Save("a", Stream{RowsTotal: 1}); err != nil {
		t.Fatal(err)
	}
	before := s.Snapshot()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("a", Stream{RowsTotal: 2}); err == nil {
		t.Fatal("Save over a directory succeeded")
	}
	mustEqual(t, "Snapshot after failed Save", s.Snapshot(), before)
	mustEqual(t, "directory", dirNames(t, dir), []string{"state.json", "state.json.lock"})
}

func TestSaveRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		st     Stream
		want   string
	}{
		{"empty name", "", Stream{}, "empty stream name"},
		{"negative rows", "s", Stream{RowsTotal: -1}, "negative rows_total"},
		{"negative files", "s", Stream{FilesTotal: -1}, "negative files_total"},
		{"empty pass", "s", Stream{Pass: &Pass{Lower: fixedAt, Upper: fixedAt.In(berlin)}}, "not after lower"},
		{"negative pass rows", "s", Stream{Pass: &Pass{Upper: fixedAt, Rows: -2}}, "negative pass rows"},
		{"year 10000", "s", Stream{Watermark: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "outside 0..9999"},
		{"slices with a gap", "s", Stream{Pass: &Pass{Upper: fixedAt, Slices: []Slice{
			{From: math.MinInt64, Until: 10}, {From: 11, Until: math.MaxInt64}}}}, "do not partition"},
		{"overlapping slices", "s", Stream{Pass: &Pass{Upper: fixedAt, Slices: []Slice{
			{From: math.MinInt64, Until: 10}, {From: 5, Until: math.MaxInt64}}}}, "do not partition"},
		{"slices short of the last id", "s", Stream{Pass: &Pass{Upper: fixedAt, Slices: []Slice{
			{From: math.MinInt64, Until: 10}, {From: 10, Until: 20}}}}, "not at the last id"},
		{"slices not from the first id", "s", Stream{Pass: &Pass{Upper: fixedAt, Slices: []Slice{
			{From: 0, Until: math.MaxInt64}}}}, "do not partition"},
	}
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	if err := s.Save("s", Stream{RowsTotal: 5}); err != nil {
		t.Fatal(err)
	}
	oldBytes, oldSnap := readFile(t, path), s.Snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Save(tt.stream, tt.st)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Save error %v, want one containing %q", err, tt.want)
			}
			mustEqual(t, "Snapshot", s.Snapshot(), oldSnap)
			if string(readFile(t, path)) != string(oldBytes) {
				t.Error("file changed")
			}
		})
	}
}

// The Store owns its data: callers mutating what they passed in or got back
// must not change it behind the mutex's back.
func TestNoAliasing(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "state.json"))
	p := &Pass{Upper: fixedAt, Rows: 1}
	if err := s.Save("s", Stream{Pass: p}); err != nil {
		t.Fatal(err)
	}
	p.Rows = 100
	got, _ := s.Stream("s")
	got.Pass.Rows = 200
	snap := s.Snapshot()
	snap.Streams["s"].Pass.Rows = 300
	snap.Streams["t"] = Stream{}
	if got, _ := s.Stream("s"); got.Pass.Rows != 1 {
		t.Errorf("stored Pass.Rows changed to %d through an alias", got.Pass.Rows)
	}
	if _, ok := s.Stream("t"); ok {
		t.Error("Snapshot's map aliases the Store's")
	}
}

func TestReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	for _, name := range []string{"a", "b"} {
		if err := s.Save(name, Stream{RowsTotal: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Reset("a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Stream("a"); ok {
		t.Error("a still present after Reset")
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "streams on disk", slices.Sorted(maps.Keys(f.Streams)), []string{"b"})

	before := readFile(t, path)
	if err := s.Reset("never-saved"); err != nil {
		t.Errorf("Reset of an unknown stream: %v", err)
	}
	if string(readFile(t, path)) != string(before) {
		t.Error("Reset of an unknown stream rewrote the file")
	}
}

func TestClosedStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	if err := s.Save("a", Stream{RowsTotal: 1}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// After Close another run may own the file; writing would race with it.
	if err := s.Save("a", Stream{}); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Save after Close: %v, want fs.ErrClosed", err)
	}
	if err := s.Reset("a"); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Reset after Close: %v, want fs.ErrClosed", err)
	}
	if st, ok := s.Stream("a"); !ok || st.RowsTotal != 1 {
		t.Errorf("reads after Close: %+v %v", st, ok)
	}
	if s.Path() != path {
		t.Errorf("Path %q, want %q", s.Path(), path)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	if err := s.Save("a", Stream{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".lock"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, got)
		}
	}
}

// Stale-temp cleanup must only touch this state file's own temps.
func TestStaleTempCleanup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	files := map[string]bool{ // name -> should survive Open
		".state.json.tmp-123456":          false,
		".state.json.tmp-x.tmp-123456":    true, // temp of a state file named "state.json.tmp-x"
		".state.json.tmp-":                true,
		".other.json.tmp-42":              true,
		"state.json.tmp-99":               true,
		".state.json.tmp-12345-notdigits": true,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	openT(t, path)
	for name, keep := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if exists := err == nil; exists != keep {
			t.Errorf("%s: exists=%v, want %v", name, exists, keep)
		}
	}
}

// SaveAll writes several checkpoints in one atomic write: a fault at any step leaves
// all of them old or (past the rename) all of them new; an invalid entry saves nothing.
func TestSaveAll(t *testing.T) {
	for _, step := range []string{"", stepTempWritten, stepTempSynced, stepRenamed} {
		t.Run("fault="+step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			s := openT(t, path)
			for _, n := range []string{"a.deleted", "b.deleted", "c"} {
				if err := s.Save(n, Stream{Watermark: fixedAt, RowsTotal: 1}); err != nil {
					t.Fatal(err)
				}
			}
			writes := 0
			s.SetFaultHook(func(st string) error {
				if st == stepTempWritten {
					writes++
				}
				if st == step {
					return errInjected
				}
				return nil
			})
			p := &Pass{Lower: fixedAt, Upper: fixedAt.Add(time.Hour), AfterCursor: "2024-11-03 05:00:00", AfterID: 7, AfterTie: "task", Rows: 2}
			err := s.SaveAll(map[string]Stream{
				"a.deleted": {Watermark: fixedAt.In(berlin), Pass: p, RowsTotal: 3},
				"b.deleted": {Watermark: fixedAt, Pass: p, RowsTotal: 4},
			})
			if (step == "") != (err == nil) || writes != 1 {
				t.Fatalf("SaveAll = %v after %d writes", err, writes)
			}
			f, lerr := Load(path)
			if lerr != nil {
				t.Fatal(lerr)
			}
			a, b := f.Streams["a.deleted"], f.Streams["b.deleted"]
			if (a.Pass == nil) != (b.Pass == nil) || (a.Pass == nil) != (step == stepTempWritten || step == stepTempSynced) {
				t.Fatalf("on disk a=%+v b=%+v", a, b)
			}
			if a.Pass != nil && (!reflect.DeepEqual(*a.Pass, *p) || a.RowsTotal != 3 || b.RowsTotal != 4 || a.Watermark.Location() != time.UTC || !a.UpdatedAt.Equal(fixedAt)) {
				t.Fatalf("on disk a=%+v (pass %+v) b=%+v", a, *a.Pass, b)
			}
			if f.Streams["c"].RowsTotal != 1 {
				t.Fatalf("an entry not named changed: %+v", f.Streams["c"])
			}
		})
	}
	s := openT(t, filepath.Join(t.TempDir(), "state.json"))
	bad := &Pass{Lower: fixedAt, Upper: fixedAt}
	if err := s.SaveAll(map[string]Stream{"a": {}, "b": {Pass: bad}}); err == nil || len(s.Snapshot().Streams) != 0 {
		t.Fatalf("an invalid entry: %v, %d entries saved", err, len(s.Snapshot().Streams))
	}
	if err := s.SaveAll(nil); err != nil {
		t.Fatal(err)
	}
}
