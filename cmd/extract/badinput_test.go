package main

// The "bad input" table: the product's promise is that bad input gets a clear error and
// loses nothing. For every case below the run must
//
//	(a) exit with the documented code of its class (2 config, 3 auth, 4 transient,
//	    5 data; 0 where the input is odd but usable, or a transient fault that heals),
//	(b) name the problem on stderr (the stream, the request, the row, the column or the
//	    setting, depending on the case),
//	(c) leave every pre-existing checkpoint as it was when it fails (the deletions,
//	    read beside the records, may have saved checkpoints of their own, and the column
//	    facts that ride along with any checkpoint), and the state file valid,
//	(d) leave no file with a final extension (.parquet/.ndjson) for the failing stream and
//	    no hidden .tmp file anywhere,
//	(e) never print a secret (client secret, refresh token, private key material).
//
// Case data lives in testdata/badinput (see its README.md). Response faults are injected
// with the fake NetSuite's SetFault hook on the SuiteQL requests of the task stream only,
// so the session time zone and the server clock are served normally.
//
// The CLI retries transient failures 8 times with backoff up to 60 s, which cannot be
// shortened from the command line. So at the CLI level transient faults are served once
// (the retry must heal them and the run must succeed), and the same faults served
// forever are tested in TestBadInputPersistentTransient below, which wires the very same
// pipeline as runExtract but with a millisecond RetryPolicy.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/connector/pipeline"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

const (
	badAccount     = "TSTDRV1"
	badTestdata    = "../../testdata/badinput"
	badSuiteQLPath = "/services/rest/query/v1/suiteql"
	badTokenPath   = "/services/rest/auth/oauth2/v1/token"
	// maxTaskQueries bounds how many task queries one case may send. A connector that
	// loops on a repeated page gets a 400 after this many, instead of hanging the test.
	maxTaskQueries = 50
	loopMarker     = "badinput test harness: more than 50 task queries, the connector is looping"
)

// Secrets of the fake NetSuite's default credentials, which every case configures.
var badSecrets = []string{"demo-client-secret", "demo-refresh-token"}

// responder answers the n-th (1-based) SuiteQL request for the task table.
type responder func(n int) (status int, body string, inject bool)

func once(status int, body string) responder {
	return func(n int) (int, string, bool) { return status, body, n == 1 }
}

func always(status int, body string) responder {
	return func(int) (int, string, bool) { return status, body, true }
}

// pages serves bodies in turn, then lets the fake answer.
func pages(bodies ...string) responder {
	return func(n int) (int, string, bool) {
		if n <= len(bodies) {
			return 200, bodies[n-1], true
		}
		return 0, "", false
	}
}

func tdFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(badTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tenMegabytes is a 10 MiB text value with multi-byte UTF-8, quotes, backslashes, control
// characters and HTML, deterministic so the output can be compared byte for byte.
func tenMegabytes() string {
	const unit = "Ünïcødé 中文 🙂 \"quoted\" back\\slash\ttab\nnew line <b>&amp;</b> 0123456789 "
	var b strings.Builder
	for b.Len() < 10<<20 {
		fmt.Fprintf(&b, "%08d ", b.Len())
		b.WriteString(unit)
	}
	return b.String()
}

// outputRows reads every committed NDJSON file of a stream.
func outputRows(t *testing.T, outDir, stream string) []map[string]any {
	t.Helper()
	files, _ := sinktest.Glob(outDir, stream, "*.ndjson")
	sort.Strings(files)
	var rows []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, row)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return rows
}

func rowByID(rows []map[string]any, id string) map[string]any {
	for _, r := range rows {
		if fmt.Sprint(r["id"]) == id {
			return r
		}
	}
	return nil
}

// checkFiles walks the output directory: no hidden temp file may be left, and when the
// run failed no file with a final extension may exist (the output directory starts empty
// and only the failing stream runs).
func checkFiles(t *testing.T, outDir string, failed bool) (final []string) {
	t.Helper()
	_ = filepath.WalkDir(outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".tmp"):
			t.Errorf("temporary file left behind: %s", path)
		case strings.HasSuffix(name, ".parquet"), strings.HasSuffix(name, ".ndjson"):
			final = append(final, path)
			if failed {
				t.Errorf("a failed run left a file with a final extension: %s", path)
			}
		}
		return nil
	})
	return final
}

// keyMaterial returns the base64 lines of a PEM file, which must never be printed.
func keyMaterial(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

type badCase struct {
	name string
	// task answers SuiteQL requests for the task table; nil lets the fake answer.
	task responder
	// fault, if set, sees every request first (for faults that are not about one stream).
	fault func(r *http.Request) (int, string, bool)
	opts  func(*netsuitetest.Options)
	// args are extra flags; env overrides the fake's environment ("" deletes a variable).
	// In both, {dir} is the case's temporary directory and {td} testdata/badinput.
	args  []string
	env   map[string]string
	state string // pre-existing state file from testdata/badinput; default state-valid.json
	token string // pre-existing token file (<state>.token) from testdata/badinput
	code  int
	want  []string // substrings stderr must contain
	// secrets besides the fake's client secret and refresh token.
	secrets []string
	// check inspects the committed NDJSON rows of a successful run.
	check func(t *testing.T, rows []map[string]any)
}

func TestBadInput(t *testing.T) {
	td, err := filepath.Abs(badTestdata)
	if err != nil {
		t.Fatal(err)
	}
	authTD, _ := filepath.Abs("../../testdata/auth")
	body := func(name string) string { return tdFile(t, name) }
	notFound := netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Record 'task' was not found.")
	invalidLogin := netsuitetest.ErrorBody(401, "INVALID_LOGIN", "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.")
	big := tenMegabytes()
	bigJSON, _ := json.Marshal(big)
	bigBody := strings.Replace(body("resp-text-10mb.json"), `"@@TEN_MEGABYTES@@"`, string(bigJSON), 1)
	m2m := func(keyFile string) map[string]string {
		return map[string]string{"NETSUITE_AUTH_METHOD": "oauth2-m2m", "NETSUITE_CLIENT_ID": "demo-client-id",
			"NETSUITE_CERTIFICATE_ID": "demo-certificate-id", "NETSUITE_PRIVATE_KEY_FILE": keyFile,
			"NETSUITE_CLIENT_SECRET": "", "NETSUITE_REFRESH_TOKEN": ""}
	}
	// Retried-and-healed transient faults: the warning names the request and the reason.
	healed := func(reason string) []string { return []string{"NetSuite is refusing requests", "offset=0", reason} }
	goodRows := func(t *testing.T, rows []map[string]any) {
		if len(rows) == 0 {
			t.Errorf("the healed run wrote no task rows")
		}
	}

	cases := []badCase{
		// --- unusable 200 responses, served once: the retry heals them ---
		{name: "malformed JSON once", task: once(200, body("resp-malformed.json")), want: healed("invalid character"), check: goodRows},
		{name: "truncated JSON once", task: once(200, body("resp-truncated.json")), want: healed("unexpected end of JSON input"), check: goodRows},
		{name: "HTML page from a proxy with 200 once", task: once(200, body("resp-html-200.html")), want: healed("invalid character"), check: goodRows},
		{name: "HTML 502 page once", task: once(502, body("resp-html-502.html")), want: healed("HTTP 502"), check: goodRows},
		{name: "empty body with 200 once", task: once(200, body("resp-empty.txt")), want: healed("empty"), check: goodRows},
		{name: "items is an object once", task: once(200, body("resp-items-object.json")), want: healed("items"), check: goodRows},
		{name: "hasMore is a number once", task: once(200, body("resp-hasmore-number.json")), want: healed("hasMore"), check: goodRows},
		{name: "hasMore true with no items once", task: once(200, body("resp-hasmore-no-items.json")), want: healed("hasMore"), check: goodRows},
		{name: "429 concurrency limit once", task: once(429, netsuitetest.ConcurrencyLimitBody()), want: healed("CONCURRENCY_LIMIT_EXCEEDED"), check: goodRows},

		// --- a page that repeats the previous one must not loop ---
		{name: "page repeats the previous page (2 rows)", task: always(200, body("resp-page-repeat.json")),
			code: exitData, want: []string{"stream task", "keyset", "id 102"}},
		{name: "page repeats the previous page (1 row)", task: always(200, body("resp-page-repeat-one-row.json")),
			code: exitData, want: []string{"stream task", "keyset", "id 101"}},

		// --- values that do not parse: exit 5 naming stream, id and column ---
		{name: "invalid UTF-8 in a text value", task: always(200, body("resp-invalid-utf8.json")),
			code: exitData, want: []string{"stream task", "id 102", "column message"}},
		{name: "missing id", task: always(200, body("resp-missing-id.json")),
			code: exitData, want: []string{"stream task", "column id", "missing"}},
		{name: "non-numeric id", task: always(200, body("resp-id-not-numeric.json")),
			code: exitData, want: []string{"stream task", "TASK-102", "column id"}},
		{name: "id beyond int64", task: always(200, body("resp-id-overflow.json")),
			code: exitData, want: []string{"stream task", "99999999999999999999", "column id"}},
		{name: "datetime in M/D/YYYY display format", task: always(200, body("resp-datetime-us-format.json")),
			code: exitData, want: []string{"stream task", "id 102", "column createddate", "1/15/2024"}},
		{name: "impossible date 2024-02-30", task: always(200, body("resp-date-impossible.json")),
			code: exitData, want: []string{"stream task", "id 101", "column startdate", "2024-02-30"}},
		{name: "check box Yes instead of T/F", task: always(200, body("resp-bool-yes.json")),
			code: exitData, want: []string{"stream task", "id 102", "column timedevent", "Yes"}},
		{name: "number with a thousands separator", task: always(200, body("resp-number-thousands.json")),
			code: exitData, want: []string{"stream task", "id 102", "column percentcomplete", "1,234.5"}},
		{name: "bad value on the second page", task: pages(body("resp-good-hasmore.json"), body("resp-bool-yes.json")),
			code: exitData, want: []string{"stream task", "id 102", "column timedevent"}},

		// --- odd but usable responses: succeed with the values intact ---
		{name: "control: a valid page served by the fault hook", task: once(200, body("resp-good.json")), check: func(t *testing.T, rows []map[string]any) {
			if len(rows) != 3 || rowByID(rows, "103") == nil || rowByID(rows, "103")["completeddate"] != "2024-03-02" {
				t.Errorf("rows = %v", rows)
			}
		}},
		{name: "10 MB text value", task: once(200, bigBody), check: func(t *testing.T, rows []map[string]any) {
			r := rowByID(rows, "102")
			if r == nil {
				t.Fatalf("row 102 missing from %d rows", len(rows))
			}
			if got, _ := r["message"].(string); got != big {
				t.Errorf("10 MB message not intact: got %d bytes, want %d", len(got), len(big))
			}
		}},
		{name: "unknown extra keys are ignored", task: once(200, body("resp-extra-keys.json")), check: func(t *testing.T, rows []map[string]any) {
			if len(rows) != 2 || rowByID(rows, "101") == nil || rowByID(rows, "103") == nil {
				t.Fatalf("rows = %v", rows)
			}
			r := rowByID(rows, "101")
			if r["title"] != "Call back Acme" || r["message"] != "first" || fmt.Sprint(r["company"]) != "7" {
				t.Errorf("row 101 = %v", r)
			}
			for _, extra := range []string{"custevent_new", "refname", "formulatext"} {
				if _, ok := r[extra]; ok {
					t.Errorf("unknown key %q reached the output", extra)
				}
			}
		}},
		{name: "keys in upper case", task: once(200, body("resp-upper-keys.json")), check: func(t *testing.T, rows []map[string]any) {
			if len(rows) != 3 {
				t.Fatalf("got %d rows, want 3", len(rows))
			}
			r := rowByID(rows, "101")
			if r == nil || r["title"] != "Call back Acme" || r["timedevent"] != true || fmt.Sprint(r["percentcomplete"]) != "25.5" ||
				r["lastmodifieddate"] != "2024-03-01T18:00:00Z" || r["startdate"] != "2024-03-01" {
				t.Errorf("row 101 = %v", r)
			}
		}},

		// --- errors NetSuite answers ---
		{name: "400 Record 'task' was not found", task: always(400, notFound),
			code: exitConfig, want: []string{"stream task", "Record 'task' was not found", "offset=0"}},
		{name: "401 on every request, token endpoint included", fault: func(r *http.Request) (int, string, bool) { return 401, invalidLogin, true },
			code: exitAuth, want: []string{"HTTP 401"}},
		{name: "401 on every REST request", fault: func(r *http.Request) (int, string, bool) {
			return 401, invalidLogin, r.URL.Path != badTokenPath
		}, code: exitAuth, want: []string{"HTTP 401"}},
		{name: "401 on the task stream", task: always(401, invalidLogin), code: exitAuth, want: []string{"stream task", "HTTP 401"}},
		{name: "401 once (token revoked early) is healed by a fresh token", task: once(401, invalidLogin), check: goodRows},

		// --- configuration ---
		{name: "config file is not JSON", args: []string{"--config", "{td}/config-not-json.toml"}, code: exitConfig, want: []string{"--config", "config-not-json.toml"}},
		{name: "config file with an unknown key", args: []string{"--config", "{td}/config-unknown-key.json"}, code: exitConfig, want: []string{"--config", `unknown setting "file_row"`}},
		{name: "config value is an object", args: []string{"--config", "{td}/config-object-value.json"}, code: exitConfig, want: []string{"--config", "concurrency"}},
		{name: "config value is an array", args: []string{"--config", "{td}/config-array-value.json"}, code: exitConfig, want: []string{"--config", "streams"}},
		{name: "config file with data after the object", args: []string{"--config", "{td}/config-trailing-data.json"}, code: exitConfig, want: []string{"--config", "after"}},
		{name: "config file with secrets and a bad value", args: []string{"--config", "{td}/config-secret-and-bad-value.json"},
			env: map[string]string{"NETSUITE_CLIENT_SECRET": "", "NETSUITE_REFRESH_TOKEN": ""}, code: exitConfig,
			want: []string{"concurrency", "config-secret-and-bad-value.json", "lots"}, secrets: []string{"cfg-Secret-Zq81xW", "cfg-Refresh-Kp27vB"}},
		{name: "unknown --streams value", args: []string{"--streams", "task,tasks"}, code: exitConfig, want: []string{"--streams", "tasks"}},
		{name: "negative --file-rows", args: []string{"--file-rows", "-5"}, code: exitConfig, want: []string{"--file-rows", "-5"}},

		// --- state and token files refused, never overwritten ---
		{name: "state file truncated", state: "state-truncated.json", code: exitConfig, want: []string{"state file", "state.json", "not valid JSON"}},
		{name: "state file from the future (version 99)", state: "state-version99.json", code: exitConfig, want: []string{"state file", "version 99"}},
		{name: "state file of another account", state: "state-other-account.json", code: exitConfig, want: []string{"state file", "9999999_SB2", badAccount}},
		{name: "state file is not JSON", state: "state-not-json.yaml", code: exitConfig, want: []string{"state file", "state.json", "not valid JSON"}},
		{name: "token file is not JSON", token: "token-not-json.token", code: exitConfig, want: []string{"token file", "state.json.token"}},
		{name: "token file is a directory", args: []string{"--token-file", "{dir}"}, code: exitConfig, want: []string{"token file"}},

		// --- M2M private keys ---
		{name: "m2m private key file missing", env: m2m("{dir}/no-such-key.pem"), code: exitConfig,
			want: []string{"NETSUITE_PRIVATE_KEY_FILE", "no-such-key.pem"}},
		{name: "m2m private key file is a directory", env: m2m("{dir}"), code: exitConfig,
			want: []string{"NETSUITE_PRIVATE_KEY_FILE"}},
		{name: "m2m private key file holds a public key", env: m2m("{td}/key-rsa-public.pem"), code: exitConfig,
			want: []string{"NETSUITE_PRIVATE_KEY_FILE", "key-rsa-public.pem", "PUBLIC KEY"}},
		{name: "m2m private key of the wrong type (Ed25519)", env: m2m("{td}/key-ed25519.pem"), code: exitConfig,
			want: []string{"NETSUITE_PRIVATE_KEY_FILE", "key-ed25519.pem", "ed25519"}},
		{name: "m2m private key file is not PEM", env: m2m("{td}/key-not-pem.pem"), code: exitConfig,
			want: []string{"NETSUITE_PRIVATE_KEY_FILE", "key-not-pem.pem", "PEM"}},
		{name: "m2m with a valid EC key (control)", env: m2m(filepath.Join(authTD, "ec256-pkcs8.pem")),
			opts: func(o *netsuitetest.Options) {
				pub, err := os.ReadFile(filepath.Join(authTD, "ec256-pub.pem"))
				if err != nil {
					t.Fatal(err)
				}
				o.CertificatePublicKeyPEM = pub
			}, check: goodRows},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runBadCase(t, tc, td)
		})
	}
}

func runBadCase(t *testing.T, tc badCase, td string) {
	dir := neutralTempDir(t)
	expand := func(s string) string {
		return strings.NewReplacer("{dir}", dir, "{td}", td).Replace(s)
	}
	opts := netsuitetest.Options{AccountID: badAccount, Seed: 7,
		Rows: map[string]int{"customer": 3, "contact": 3, "calendarevent": 3, "task": 3, "phonecall": 3}}
	if tc.opts != nil {
		tc.opts(&opts)
	}
	srv, err := netsuitetest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var taskQueries atomic.Int64
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if tc.fault != nil {
			if status, b, inject := tc.fault(r); inject {
				return status, b, true
			}
		}
		if r.URL.Path != badSuiteQLPath {
			return 0, "", false
		}
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if !strings.Contains(string(b), "FROM task ") {
			return 0, "", false
		}
		n := int(taskQueries.Add(1))
		if n > maxTaskQueries {
			return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", loopMarker), true
		}
		if tc.task == nil {
			return 0, "", false
		}
		return tc.task(n)
	})

	env := map[string]string{"NETSUITE_ACCOUNT_ID": badAccount, "NETSUITE_BASE_URL": srv.URL(), "NETSUITE_AUTH_METHOD": "oauth2-refresh",
		"NETSUITE_CLIENT_ID": "demo-client-id", "NETSUITE_CLIENT_SECRET": "demo-client-secret", "NETSUITE_REFRESH_TOKEN": srv.RefreshToken()}
	for k, v := range tc.env {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = expand(v)
		}
	}
	secrets := append(append([]string{}, badSecrets...), tc.secrets...)
	if kf := env["NETSUITE_PRIVATE_KEY_FILE"]; kf != "" {
		secrets = append(secrets, keyMaterial(kf)...)
	}

	statePath := filepath.Join(dir, "state", "state.json")
	outDir := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Dir(statePath), 0o700); err != nil {
		t.Fatal(err)
	}
	stateFile := tc.state
	if stateFile == "" {
		stateFile = "state-valid.json"
	}
	before := []byte(tdFile(t, stateFile))
	if err := os.WriteFile(statePath, before, 0o600); err != nil {
		t.Fatal(err)
	}
	if tc.token != "" {
		if err := os.WriteFile(statePath+".token", []byte(tdFile(t, tc.token)), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"run", "--state", statePath, "--output", outDir, "--streams", "task"}
	if tc.check != nil {
		args = append(args, "--format", "ndjson")
	}
	for _, a := range tc.args {
		args = append(args, expand(a))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(ctx, args, runEnv{stdout: &stdout, stderr: &stderr, getenv: envOf(env)})
	elapsed := time.Since(start)
	errText := stderr.String()
	if ctx.Err() != nil {
		t.Errorf("the run did not end within 20 s (a hang or a loop)")
	}

	// (a) the exit code of the class.
	if code != tc.code {
		t.Errorf("exit code %d, want %d", code, tc.code)
	}
	if strings.Contains(errText, loopMarker) {
		t.Errorf("the connector sent more than %d task queries: it loops on the repeated page", maxTaskQueries)
	}
	if tc.task != nil && taskQueries.Load() == 0 {
		t.Errorf("the fault was never served: the case tests nothing")
	}
	// (b) stderr names the problem.
	for _, w := range tc.want {
		if !strings.Contains(errText, w) {
			t.Errorf("stderr does not name %q", w)
		}
	}
	// (c) the checkpoints are unchanged after a failure, and the file valid either way.
	after, err := os.ReadFile(statePath)
	if err != nil {
		t.Errorf("state file: %v", err)
	}
	if code != 0 {
		checkpointsKept(t, statePath, before, after)
	}
	if code == 0 {
		if _, err := state.Load(statePath); err != nil {
			t.Errorf("a successful run left a state file that does not load: %v", err)
		}
	}
	// (d) no final-named file after a failure, no temp file ever.
	checkFiles(t, outDir, code != 0)
	if code == 0 && tc.check != nil {
		tc.check(t, outputRows(t, outDir, "task"))
	}
	// (e) no secret on stdout or stderr.
	for _, s := range secrets {
		if s != "" && strings.Contains(stdout.String()+errText, s) {
			t.Errorf("stdout/stderr leaks a secret (%.6s…)", s)
		}
	}
	if t.Failed() || os.Getenv("BADINPUT_LOG") != "" {
		t.Logf("args: %q\nelapsed: %s, task queries: %d\nstderr (first 3000 bytes):\n%s", args, elapsed.Round(time.Millisecond), taskQueries.Load(), head(errText, 3000))
	}
}

// neutralTempDir is a temporary directory whose name does not contain the test's name,
// which t.TempDir's does: paths are printed on stderr, and a case's expected substring
// must not be found in its own directory name.
func neutralTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bi-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TestBadInputPersistentTransient: transient faults that never heal. Through the CLI
// these take minutes (8 attempts, backoff up to 60 s, not configurable), so this table
// runs the same wiring as runExtract — client, auth transport, request limit, sink, state
// store, pipeline — with a RetryPolicy of milliseconds, and maps the error to the exit
// code with the CLI's own exitCode. The error text is checked the way run prints it.
func TestBadInputPersistentTransient(t *testing.T) {
	body := func(name string) string { return tdFile(t, name) }
	const attempts = 4
	cases := []struct {
		name string
		task responder
		code int
		want []string
	}{
		{"malformed JSON forever", always(200, body("resp-malformed.json")), exitTransient, []string{"stream task", "offset=0", "invalid character"}},
		{"truncated JSON forever", always(200, body("resp-truncated.json")), exitTransient, []string{"stream task", "offset=0", "unexpected end of JSON input"}},
		{"HTML page from a proxy with 200 forever", always(200, body("resp-html-200.html")), exitTransient, []string{"stream task", "offset=0", "invalid character"}},
		{"HTML 502 page forever", always(502, body("resp-html-502.html")), exitTransient, []string{"stream task", "offset=0", "HTTP 502", "502 Bad Gateway"}},
		{"empty body with 200 forever", always(200, body("resp-empty.txt")), exitTransient, []string{"stream task", "offset=0", "empty"}},
		{"items is an object forever", always(200, body("resp-items-object.json")), exitTransient, []string{"stream task", "offset=0", "items"}},
		{"hasMore is a number forever", always(200, body("resp-hasmore-number.json")), exitTransient, []string{"stream task", "offset=0", "hasMore"}},
		{"hasMore true with no items forever", always(200, body("resp-hasmore-no-items.json")), exitTransient, []string{"stream task", "offset=0", "hasMore"}},
		{"429 forever", always(429, netsuitetest.ConcurrencyLimitBody()), exitTransient, []string{"stream task", "offset=0", "HTTP 429", "CONCURRENCY_LIMIT_EXCEEDED"}},
		{"500 UNEXPECTED_ERROR forever", always(500, netsuitetest.ErrorBody(500, "UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: lx1abc")), exitTransient, []string{"stream task", "offset=0", "UNEXPECTED_ERROR"}},
		// An unknown key is ignored whatever its value: a nested value under a key the
		// stream does not declare must not make the page unusable.
		{"unknown item key with a nested value", always(200, body("resp-extra-key-nested.json")), exitOK, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := netsuitetest.New(netsuitetest.Options{AccountID: badAccount, Seed: 7, Rows: map[string]int{"task": 3}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var taskQueries atomic.Int64
			srv.SetFault(func(r *http.Request) (int, string, bool) {
				if r.URL.Path != badSuiteQLPath {
					return 0, "", false
				}
				b, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(b))
				if !strings.Contains(string(b), "FROM task ") {
					return 0, "", false
				}
				n := int(taskQueries.Add(1))
				if n > maxTaskQueries {
					return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", loopMarker), true
				}
				return tc.task(n)
			})
			dir := neutralTempDir(t)
			statePath := filepath.Join(dir, "state.json")
			outDir := filepath.Join(dir, "out")
			before := []byte(tdFile(t, "state-valid.json"))
			if err := os.WriteFile(statePath, before, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			limited := connector.NewLimiter(4).Transport(http.DefaultTransport)
			rt, err := auth.NewTransport(auth.Config{Method: auth.OAuth2Refresh, AccountID: badAccount, TokenURL: srv.TokenURL(),
				ClientID: "demo-client-id", ClientSecret: "demo-client-secret", RefreshToken: srv.RefreshToken()}, limited)
			if err != nil {
				t.Fatal(err)
			}
			client, err := connector.NewClient(srv.URL(), &http.Client{Transport: rt, Timeout: 30 * time.Second},
				connector.RetryPolicy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, log)
			if err != nil {
				t.Fatal(err)
			}
			st, err := state.Open(statePath, badAccount)
			if err != nil {
				t.Fatal(err)
			}
			out, err := sink.New(context.Background(), sink.Options{Dir: outDir, Format: sink.Parquet, RunID: sinktest.RunID(), RunStart: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r := &pipeline.Runner{Source: client, Sink: out, State: st, Opts: pipeline.Options{
				Streams: []string{"task"}, Lookback: pipeline.DefaultLookback, FileRows: 100_000, Logger: log}}
			_, runErr := r.Run(ctx)
			st.Close()
			code := exitCode(runErr)
			errText := logs.String()
			if runErr != nil {
				errText += fmt.Sprintf("extract: %v\n", runErr)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d (error: %v)", code, tc.code, runErr)
			}
			if strings.Contains(errText, loopMarker) {
				t.Errorf("the connector looped")
			}
			if tc.code == exitTransient {
				// The retry policy's attempts; after a lasting 500 UNEXPECTED_ERROR, one more
				// query of the key and cursor alone shows that no column is to blame.
				want := int64(attempts)
				if strings.Contains(tc.name, "UNEXPECTED_ERROR") {
					want++
				}
				if n := taskQueries.Load(); n != want {
					t.Errorf("%d task queries, want %d", n, want)
				}
				if !errors.Is(runErr, connector.ErrTransient) {
					t.Errorf("error is not transient: %v", runErr)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(errText, w) {
					t.Errorf("error does not name %q: %v", w, runErr)
				}
			}
			after, _ := os.ReadFile(statePath)
			if code != 0 {
				checkpointsKept(t, statePath, before, after)
			}
			if finals := checkFiles(t, outDir, code != 0); code == 0 && len(finals) != 1 {
				t.Errorf("successful run wrote %d files, want 1", len(finals))
			}
			for _, s := range badSecrets {
				if strings.Contains(errText, s) {
					t.Errorf("the error or the logs leak a secret")
				}
			}
		})
	}
}

// checkpointsKept checks promise (c) after a failed run: the state file is unchanged, or
// it loads and holds every checkpoint it held before exactly as it was; the only
// checkpoints added or moved are those of deletions (read beside the records).
func checkpointsKept(t *testing.T, statePath string, before, after []byte) {
	t.Helper()
	if bytes.Equal(after, before) {
		return
	}
	var old state.File
	if err := json.Unmarshal(before, &old); err != nil {
		t.Fatalf("state before the run: %v", err)
	}
	now, err := state.Load(statePath)
	if err != nil {
		t.Errorf("a failed run left a state file that does not load: %v", err)
		return
	}
	for name, st := range now.Streams {
		prev, existed := old.Streams[name]
		prev.UpdatedAt, st.UpdatedAt = prev.UpdatedAt.UTC(), st.UpdatedAt.UTC()
		prev.Watermark = prev.Watermark.UTC()
		if !strings.HasSuffix(name, pipeline.DeletionsKey("")) && (!existed || !reflect.DeepEqual(prev, st)) {
			t.Errorf("a failed run changed the checkpoint of %s:\nbefore: %+v\nafter:  %+v", name, prev, st)
		}
	}
	for name := range old.Streams {
		if _, ok := now.Streams[name]; !ok {
			t.Errorf("a failed run removed the checkpoint of %s", name)
		}
	}
}
