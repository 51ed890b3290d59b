package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/state"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCLIWith(t, runEnv{getenv: envOf(env)}, args...)
}

// runCLIWith is runCLI with more of the run's environment set (e.g. its retry policy);
// stdout and stderr are captured.
func runCLIWith(t *testing.T, e runEnv, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e.stdout, e.stderr = &out, &errb
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// TestConfigErrorsNameTheSettingAndKeepState: bad configuration exits with the config
// code, says which setting is wrong, and leaves an existing state file byte-identical.
func TestConfigErrorsNameTheSettingAndKeepState(t *testing.T) {
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	original := []byte(`{"version":1,"account_id":"123","streams":{"customer":{"watermark":"2024-01-01T00:00:00Z","rows_total":5,"files_total":1,"updated_at":"2024-01-01T00:00:00Z"}},"updated_at":"2024-01-01T00:00:00Z"}` + "\n")
	if err := os.WriteFile(statePath, original, 0o600); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"NETSUITE_ACCOUNT_ID": "123", "NETSUITE_AUTH_METHOD": "oauth2-refresh",
		"NETSUITE_CLIENT_ID": "id", "NETSUITE_CLIENT_SECRET": "s3cr3t-value", "NETSUITE_REFRESH_TOKEN": "rt-value",
		"NETSUITE_BASE_URL": "http://127.0.0.1:1"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte(`{"account_id": "1", "acount": "x"}`), 0o600)
	cfgFile := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing account id", with("NETSUITE_ACCOUNT_ID", ""), nil, "NETSUITE_ACCOUNT_ID"},
		{"malformed account id", with("NETSUITE_ACCOUNT_ID", "12 34"), nil, "NETSUITE_ACCOUNT_ID"},
		{"unknown auth method", with("NETSUITE_AUTH_METHOD", "password"), nil, "NETSUITE_AUTH_METHOD"},
		{"missing auth method", with("NETSUITE_AUTH_METHOD", ""), nil, "NETSUITE_AUTH_METHOD"},
		{"missing refresh token", with("NETSUITE_REFRESH_TOKEN", ""), nil, "NETSUITE_REFRESH_TOKEN"},
		{"unreadable config file", good, []string{"--config", filepath.Join(dir, "nope.json")}, "--config"},
		{"config file unknown key", good, []string{"--config", badJSON}, `unknown setting "acount"`},
		{"bad format", good, []string{"--format", "csv"}, "--format"},
		{"bad stream", good, []string{"--streams", "customer,invoices"}, "--streams"},
		{"bad concurrency env", with("NETSUITE_CONCURRENCY", "zero"), nil, "NETSUITE_CONCURRENCY"},
		{"bad lookback", good, []string{"--lookback", "yesterday"}, "--lookback"},
		{"bad start date", good, []string{"--start-date", "01/02/2024"}, "--start-date"},
		{"bad time zone", good, []string{"--timezone", "Mars/Base"}, "--timezone"},
		{"unknown flag", good, []string{"--bogus"}, "bogus"},
		{"exclude the key", good, []string{"--config", cfgFile("k.json", `{"stream_columns": {"customer": {"exclude_columns": ["id"]}}}`)},
			`"stream_columns" in ` + filepath.Join(dir, "k.json") + `: customer.exclude_columns: "id" excludes id, which every row needs (it is the stream's key)`},
		{"exclude the cursor by pattern", good, []string{"--config", cfgFile("c.json", `{"stream_columns": {"task": {"exclude_columns": ["lastmod*"]}}}`)},
			`task.exclude_columns: "lastmod*" excludes lastmodifieddate`},
		{"bad pattern", good, []string{"--config", cfgFile("p.json", `{"stream_columns": {"contact": {"columns": ["cust[entity"]}}}`)}, `contact.columns: "cust[entity" is not a valid pattern`},
		{"unknown stream in stream_columns", good, []string{"--config", cfgFile("s.json", `{"stream_columns": {"invoice": {}}}`)}, `"stream_columns"`},
		{"unknown key in stream_columns", good, []string{"--config", cfgFile("u.json", `{"stream_columns": {"customer": {"exclude": ["x"]}}}`)}, `customer: json: unknown field "exclude"`},
		{"stream_columns not an object", good, []string{"--config", cfgFile("o.json", `{"stream_columns": ["customer"]}`)}, `"stream_columns"`},
		{"custom_fields not a list", good, []string{"--config", cfgFile("f.json", `{"custom_fields": {"x": 1}}`)}, `"custom_fields"`},
		{"bad custom_fields pattern", good, []string{"--custom-fields", "custentity_["}, "--custom-fields"},
		{"bad custom fields ttl", good, []string{"--custom-fields-ttl", "hourly"}, "--custom-fields-ttl"},
		{"unsupported output scheme", good, []string{"--output", "ftp://host/out"}, `--output: location: unsupported scheme "ftp"`},
		{"output bucket without a name", good, []string{"--output", "s3:///prefix"}, "--output"},
		{"credentials in the output URL", good, []string{"--output", "s3://AKIAKEY:hunter2secret@bucket/p"}, "--output"},
		{"bad s3 path style", good, []string{"--s3-path-style", "maybe"}, "--s3-path-style"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--state", statePath, "--output", filepath.Join(dir, "out")}, tc.args...)
			code, stdout, stderr := runCLI(t, tc.env, args...)
			if code != exitConfig {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not name %q", stderr, tc.want)
			}
			for _, secret := range []string{"s3cr3t-value", "rt-value"} {
				if strings.Contains(stderr+stdout, secret) {
					t.Errorf("output leaks a secret: %s", stderr)
				}
			}
			if got, _ := os.ReadFile(statePath); !bytes.Equal(got, original) {
				t.Errorf("state file changed:\n%s", got)
			}
		})
	}
}

func TestPrecedenceFlagOverEnvOverFileOverDefault(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.json")
	os.WriteFile(cfgPath, []byte(`{"account_id":"FILE_ACCT","auth_method":"oauth2-refresh","client_id":"c","client_secret":"s","refresh_token":"r","format":"ndjson","concurrency":3,"output":"from-file"}`), 0o600)
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfg, err := loadConfig(nil, fs, []string{"--config", cfgPath, "--output", "from-flag", "--state", filepath.Join(dir, "s.json")}, envOf(map[string]string{"NETSUITE_ACCOUNT_ID": "1234567_SB1", "NETSUITE_CONCURRENCY": "2"}), authFull)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ got, want any }{
		{cfg.AccountID, "1234567_SB1"},                      // env over file
		{cfg.Concurrency, 2},                                // env over file
		{string(cfg.Format), "ndjson"},                      // file over default
		{cfg.OutputDir, "from-flag"},                        // flag over file
		{cfg.TokenFile, filepath.Join(dir, "s.json.token")}, // derived from the state path
		{cfg.BaseURL, "https://1234567-sb1.suitetalk.api.netsuite.com"},
		{cfg.TokenURL, "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"},
		{cfg.Auth.AccountID, "1234567_SB1"},
		{cfg.Lookback, 10 * time.Minute},
	}
	for i, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("check %d: got %v, want %v", i, c.got, c.want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, exitOK},
		{fmt.Errorf("x: %w", connector.ErrConfig), exitConfig},
		{fmt.Errorf("x: %w", state.ErrCorrupt), exitConfig},
		{fmt.Errorf("x: %w", connector.ErrAuth), exitAuth},
		{fmt.Errorf("x: %w", connector.ErrTransient), exitTransient},
		{fmt.Errorf("x: %w", state.ErrLocked), exitTransient},
		{fmt.Errorf("x: %w", connector.ErrData), exitData},
		{&schema.ConversionError{Stream: "task", Column: "c"}, exitData},
		{fmt.Errorf("x: %w", connector.ErrInterrupted), exitInterrupted},
		{context.Canceled, exitInterrupted},
		{errors.New("disk on fire"), exitInternal},
	}
	for _, tc := range cases {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"run", "--help"}, {"check", "--help"}, {"discover", "--help"}, {"demo", "--help"}, {"help"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != exitOK || !strings.Contains(out+errOut, "Usage") {
			t.Errorf("%v: exit %d, output %q", args, code, out+errOut)
		}
	}
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "extract ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, nil, "frobnicate"); code != exitConfig {
		t.Errorf("unknown command exit %d", code)
	}
}

func TestDiscoverPrintsTypedColumns(t *testing.T) {
	code, out, stderr := runCLI(t, nil, "discover", "--streams", "task", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var v struct {
		Streams []struct {
			Name    string `json:"name"`
			Cursor  string `json:"cursor"`
			Columns []struct {
				Name, NetsuiteType, ArrowType string
			} `json:"columns"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Streams) != 1 || v.Streams[0].Name != "task" || v.Streams[0].Cursor != "lastmodifieddate" || len(v.Streams[0].Columns) < 15 {
		t.Fatalf("discover = %s", out)
	}
	if !strings.Contains(out, `"source": "built-in catalog`) || !strings.Contains(out, `"live": false`) {
		t.Fatalf("offline discover does not say it is the built-in catalog:\n%s", out)
	}
	// The table for people says the same.
	code, out, _ = runCLI(t, nil, "discover", "--streams", "task")
	if code != 0 || !strings.HasPrefix(out, "Source: built-in catalog") || !strings.Contains(out, "task: 25 columns (0 custom)") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// fakeEnv starts the fake NetSuite and returns the environment a user would set for it.
func fakeEnv(t testing.TB, rows int) (*netsuitetest.Server, map[string]string) {
	t.Helper()
	return fakeEnvWith(t, netsuitetest.Options{Seed: 2, Rows: map[string]int{"customer": rows, "contact": rows, "calendarevent": rows, "task": rows, "phonecall": rows}})
}

// fakeEnvWith is fakeEnv for a fake account configured by opts.
func fakeEnvWith(t testing.TB, opts netsuitetest.Options) (*netsuitetest.Server, map[string]string) {
	t.Helper()
	opts.AccountID = "TSTDRV1"
	srv, err := netsuitetest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, map[string]string{"NETSUITE_ACCOUNT_ID": "TSTDRV1", "NETSUITE_BASE_URL": srv.URL(), "NETSUITE_AUTH_METHOD": "oauth2-refresh",
		"NETSUITE_CLIENT_ID": "demo-client-id", "NETSUITE_CLIENT_SECRET": "demo-client-secret", "NETSUITE_REFRESH_TOKEN": srv.RefreshToken()}
}

func TestRunAndCheckAgainstFake(t *testing.T) {
	srv, env := fakeEnv(t, 1500)
	dir := t.TempDir()
	code, out, stderr := runCLI(t, env, "run", "--json", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--streams", "customer,task")
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	var res struct {
		Streams []struct {
			Stream string
			Rows   int64
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if len(res.Streams) != 2 || res.Streams[0].Rows != 1500 || res.Streams[1].Rows != 1500 {
		t.Fatalf("summary = %+v", res)
	}
	// Logs go to stderr as JSON lines; stdout carries only the result.
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line != "" && !json.Valid([]byte(line)) {
			t.Errorf("stderr line is not JSON: %q", line)
		}
	}
	code, out, stderr = runCLI(t, env, "check")
	if code != 0 || strings.Count(out, " ok") != 9 {
		t.Fatalf("check exit %d:\n%s\n%s", code, out, stderr)
	}
	// A role without the Tasks permission: NetSuite says the record was not found.
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "FROM task") {
			return 400, netsuitetest.ErrorBody(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Record 'task' was not found."), true
		}
		return 0, "", false
	})
	code, out, _ = runCLI(t, env, "check", "--json")
	var results []checkResult
	if err := json.Unmarshal([]byte(out), &results); err != nil || code != exitConfig || len(results) != 9 {
		t.Fatalf("check with a missing permission: exit %d, %v\n%s", code, err, out)
	}
	for _, r := range results {
		if r.OK != (r.Stream != "task") {
			t.Errorf("%+v", r)
		}
		if r.Stream == "task" && (r.Problem != "missing permission or feature disabled" || r.Code != "INVALID_PARAMETER") {
			t.Errorf("task diagnosis = %+v", r)
		}
	}
	srv.SetFault(nil)
	env["NETSUITE_CLIENT_SECRET"] = "wrong-secret"
	code, out, stderr = runCLI(t, env, "check", "--json")
	if code != exitAuth || !strings.Contains(stderr, "NETSUITE_CLIENT_SECRET") || strings.Contains(out+stderr, "wrong-secret") {
		t.Fatalf("check with a wrong secret: exit %d\n%s\n%s", code, out, stderr)
	}
}

func TestSecondRunIsLockedOut(t *testing.T) {
	_, env := fakeEnv(t, 10)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "s.json")
	held, err := state.Open(statePath, "TSTDRV1")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, _, stderr := runCLI(t, env, "run", "--state", statePath, "--output", filepath.Join(dir, "out"))
	if code != exitTransient || !strings.Contains(stderr, "in use by another extract run") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, nil, "demo", "--output", dir, "--rows", "1200", "--fixtures", "../../testdata/fixtures")
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Full extract", "Incremental extract", "customer", "phonecall", "(none) →",
		"dropped: calendarevent.supportcase (refused by NetSuite: NOT_EXPOSED - Not available for channel SUITEQL)",
		"not extracted, refused by NetSuite in an earlier run (extract discover asks again): customer.custentity_legacy_code, contact.custentity_legacy_code, calendarevent.supportcase,",
		"schema change: customer +custentity_segment (text)",
		"What the account serves", "refused by NetSuite: supportcase (NOT_EXPOSED - Not available for channel SUITEQL)",
		"custentity_product_lines", "list<item: int64"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// rowsOf reads the ROWS column of one run's table.
	rowsOf := func(title string) map[string]string {
		section := out[strings.Index(out, title):]
		section = section[:strings.Index(section, "\n==")]
		rows := map[string]string{}
		for _, line := range strings.Split(section, "\n") {
			if f := strings.Fields(line); len(f) > 2 {
				rows[f[0]] = f[1]
			}
		}
		return rows
	}
	quiet, edited := rowsOf("Incremental extract (nothing changed)"), rowsOf("Incremental extract (a new custom field")
	for _, s := range connector.AllStreams() {
		want := "0"
		switch s {
		case connector.Customer:
			want = "3"
		case connector.CustomerAddressBook:
			want = "2" // the address edited and the line added; the removed one is a tombstone
		}
		if quiet[s] != "0" || edited[s] != want {
			t.Errorf("%s: incremental runs wrote %q and %q rows, want 0 and %s:\n%s", s, quiet[s], edited[s], want, out)
		}
	}
}

// TestRotatingRefreshTokenSurvivesShortLivedTokens: access tokens live 2 s, every refresh
// rotates the one-time refresh token, requests are slow; the run completes, the token file
// holds the newest refresh token (mode 0600), and the next run uses it.
func TestRotatingRefreshTokenSurvivesShortLivedTokens(t *testing.T) {
	srv, err := netsuitetest.New(netsuitetest.Options{AccountID: "TSTDRV1", Seed: 4, RotateRefreshTokens: true,
		AccessTokenTTL: 2 * time.Second, Rows: map[string]int{"customer": 6000, "contact": 6000}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		time.Sleep(400 * time.Millisecond) // each stream's 7 pages take ~3 s: longer than a token lives
		return 0, "", false
	})
	configured := srv.RefreshToken()
	env := map[string]string{"NETSUITE_ACCOUNT_ID": "TSTDRV1", "NETSUITE_BASE_URL": srv.URL(), "NETSUITE_AUTH_METHOD": "oauth2-refresh",
		"NETSUITE_CLIENT_ID": "demo-client-id", "NETSUITE_CLIENT_SECRET": "demo-client-secret", "NETSUITE_REFRESH_TOKEN": configured}
	dir := t.TempDir()
	args := []string{"run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--streams", "customer,contact"}
	code, _, stderr := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	if n := srv.Stats().TokenRequests; n < 2 {
		t.Fatalf("only %d token requests: tokens did not expire during the run", n)
	}
	tokenFile := filepath.Join(dir, "s.json.token")
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(tokenFile)
	if !strings.Contains(string(b), srv.RefreshToken()) || srv.RefreshToken() == configured {
		t.Fatalf("token file does not hold NetSuite's current refresh token")
	}
	// The configured token was spent long ago; the next run must use the saved one.
	if code, _, stderr := runCLI(t, env, args...); code != 0 {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
	for _, secret := range []string{configured, srv.RefreshToken(), "demo-client-secret"} {
		if strings.Contains(stderr, secret) {
			t.Fatalf("stderr leaks a secret")
		}
	}
}

func TestStateShowAndReset(t *testing.T) {
	_, env := fakeEnv(t, 20)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "s.json")
	if code, _, stderr := runCLI(t, env, "run", "--state", statePath, "--output", filepath.Join(dir, "out"), "--streams", "task,contact"); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	code, out, _ := runCLI(t, nil, "state", "show", "--state", statePath)
	var f state.File
	if err := json.Unmarshal([]byte(out), &f); code != 0 || err != nil || f.Streams["task"].RowsTotal != 20 || f.Streams["contact"].Watermark.IsZero() {
		t.Fatalf("state show: exit %d, %v\n%s", code, err, out)
	}
	if code, out, _ = runCLI(t, nil, "state", "reset", "task", "--state", statePath); code != 0 || !strings.Contains(out, "reset task") {
		t.Fatalf("state reset: exit %d %s", code, out)
	}
	after, _ := state.Load(statePath)
	if _, ok := after.Streams["task"]; ok || after.Streams["contact"].RowsTotal != 20 {
		t.Fatalf("after reset: %+v", after.Streams)
	}
	if _, ok := after.Streams["task.deleted"]; ok {
		t.Fatalf("after reset: %+v", after.Streams)
	}
	// The reset stream is read again in full; the other is not.
	code, out, _ = runCLI(t, env, "run", "--json", "--state", statePath, "--output", filepath.Join(dir, "out"), "--streams", "task,contact")
	if code != 0 || !strings.Contains(out, `"stream": "task",`+"\n"+`      "rows": 20`) || !strings.Contains(out, `"stream": "contact",`+"\n"+`      "rows": 0`) {
		t.Fatalf("run after reset: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"state"}, {"state", "reset"}, {"state", "reset", "invoices"}, {"state", "show", "--state", filepath.Join(dir, "missing", "x.json"), "extra"}} {
		if code, _, _ := runCLI(t, nil, bad...); code != exitConfig {
			t.Errorf("%v: exit %d, want %d", bad, code, exitConfig)
		}
	}
	// A run holding the lock blocks a reset.
	held, _ := state.Open(statePath, "TSTDRV1")
	defer held.Close()
	if code, _, stderr := runCLI(t, nil, "state", "reset", "contact", "--state", statePath); code != exitTransient {
		t.Errorf("reset while locked: exit %d %s", code, stderr)
	}
}

func TestFullRefreshFlag(t *testing.T) {
	_, env := fakeEnv(t, 30)
	dir := t.TempDir()
	args := []string{"run", "--json", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--streams", "phonecall"}
	runCLI(t, env, args...)
	code, out, stderr := runCLI(t, env, append(args, "--full-refresh")...)
	if code != 0 || !strings.Contains(out, `"rows": 30`) {
		t.Fatalf("full refresh: exit %d %s\n%s", code, stderr, out)
	}
}
