package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/extract-dev/extract/connector/netsuitetest"
)

const (
	secretA = "csecret-7d1e9a44b0" // a client secret
	secretB = "rtoken-55e0c1f2a9"  // a refresh token
)

func testRedactor(t *testing.T) *redactor {
	t.Helper()
	r := newRedactor()
	r.add(secretA, secretB, "", "abc", "12345") // empty and short values are ignored
	return r
}

// logJSON logs through a redacting JSON handler and returns the decoded record.
func logJSON(t *testing.T, r *redactor, f func(*slog.Logger)) (string, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	f(slog.New(newRedactHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), r)))
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, buf.String())
	}
	return buf.String(), m
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type valuer struct{ s string }

func (v valuer) LogValue() slog.Value { return slog.StringValue("resolved " + v.s) }

type panicky struct{ s string }

func (p *panicky) String() string { return p.s } // panics on nil

type creds struct {
	User   string
	Secret string
}

func TestRedactHandlerMessageAndAttributes(t *testing.T) {
	r := testRedactor(t)
	wrapped := fmt.Errorf("token request: %w", errors.New("refused "+secretB))
	raw, m := logJSON(t, r, func(l *slog.Logger) {
		l.Info("sending "+secretA+" now",
			"plain", "secret="+secretA,
			"err", wrapped,
			"stringer", stringer{"value " + secretA},
			"bytes", []byte("body "+secretB),
			"struct", creds{User: "u", Secret: secretA},
			"valuer", valuer{secretB},
			"count", 12345, // numbers are left alone, even when they spell a short "secret"
			"nilptr", (*panicky)(nil),
			"clean", "nothing to hide",
		)
	})
	if strings.Contains(raw, secretA) || strings.Contains(raw, secretB) {
		t.Fatalf("secret in the log line:\n%s", raw)
	}
	want := map[string]any{
		"msg":      "sending [REDACTED] now",
		"plain":    "secret=[REDACTED]",
		"err":      "token request: refused [REDACTED]",
		"stringer": "value [REDACTED]",
		"bytes":    "body [REDACTED]",
		"struct":   "{User:u Secret:[REDACTED]}",
		"valuer":   "resolved [REDACTED]",
		"count":    float64(12345),
		"clean":    "nothing to hide",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
}

func TestRedactHandlerGroupsAndWith(t *testing.T) {
	r := testRedactor(t)
	raw, m := logJSON(t, r, func(l *slog.Logger) {
		l = l.With("stream", "customer", "token", secretB).WithGroup("req")
		l.Warn("retrying", slog.Group("auth", "header", "Bearer "+secretA, slog.Group("inner", "e", errors.New(secretB))), "n", 1)
	})
	if strings.Contains(raw, secretA) || strings.Contains(raw, secretB) {
		t.Fatalf("secret in the log line:\n%s", raw)
	}
	if m["token"] != redacted || m["stream"] != "customer" {
		t.Errorf("With attrs: %s", raw)
	}
	req, _ := m["req"].(map[string]any)
	auth, _ := req["auth"].(map[string]any)
	inner, _ := auth["inner"].(map[string]any)
	if auth["header"] != "Bearer [REDACTED]" || inner["e"] != redacted || req["n"] != float64(1) {
		t.Errorf("groups: %s", raw)
	}
}

func TestRedactShortSecretsAndPEM(t *testing.T) {
	r := newRedactor()
	r.add("x", "none", "12345") // under minSecretLen: never redacted
	if got := r.String("x none 12345 index"); got != "x none 12345 index" {
		t.Errorf("short values were redacted: %q", got)
	}
	key, err := os.ReadFile("../../testdata/auth/rsa3072-pkcs8.pem")
	if err != nil {
		t.Fatal(err)
	}
	r.addPEM(string(key))
	lines := strings.Split(strings.TrimSpace(string(key)), "\n")
	body := lines[3]
	msg := fmt.Sprintf("bad key %q; line: %s; whole: %s", string(key), body, key)
	got := r.String(msg)
	for _, l := range lines {
		if len(l) >= minPEMLineLen && !strings.HasPrefix(l, "-----") && strings.Contains(got, l) {
			t.Fatalf("a key line survived: %s", got)
		}
	}
	if !strings.Contains(got, "line: [REDACTED];") || !strings.Contains(got, "whole: [REDACTED]") {
		t.Errorf("got %q", got)
	}
	// The armour is public and keeps messages about the key's format readable.
	if r.String("want -----BEGIN PRIVATE KEY-----") != "want -----BEGIN PRIVATE KEY-----" {
		t.Errorf("armour line redacted")
	}
}

func TestRedactErrorText(t *testing.T) {
	r := testRedactor(t)
	longer := secretA + "-and-more"
	r.add(longer) // contains secretA: must be replaced whole
	r.add("p@ss+w/rd=99")
	err := fmt.Errorf("stream task: %w", fmt.Errorf("POST /token: body client_secret=%s&x=%q and %s", url.QueryEscape("p@ss+w/rd=99"), "quote\"d "+secretB, longer))
	got := r.Error(err)
	if strings.Contains(got, secretA) || strings.Contains(got, secretB) || strings.Contains(got, "-and-more") || strings.Contains(got, "rd%3D99") {
		t.Errorf("Error = %q", got)
	}
	if r.Error(nil) != "" {
		t.Error("Error(nil) is not empty")
	}
	if want := "stream task: POST /token: body client_secret="; !strings.HasPrefix(got, want) {
		t.Errorf("Error = %q, want prefix %q", got, want)
	}
	var nothing *redactor
	if nothing.String("a") != "a" {
		t.Error("nil redactor")
	}
}

// TestRunRedactsLogsAndTheErrorLine: through run, a secret that NetSuite echoes in an
// error (logged while retrying) and one that a bad setting echoes in the final line are
// both redacted.
func TestRunRedactsLogsAndTheErrorLine(t *testing.T) {
	srv, env := fakeEnv(t, 50)
	var n atomic.Int32
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/suiteql") && n.Add(1) == 2 {
			return 500, netsuitetest.ErrorBody(500, "UNEXPECTED_ERROR", "echo of "+env["NETSUITE_CLIENT_SECRET"]+" from a proxy"), true
		}
		return 0, "", false
	})
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, env, "run", "--log-level", "debug", "--streams", "task", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout+stderr, env["NETSUITE_CLIENT_SECRET"]) || !strings.Contains(stderr, "echo of [REDACTED] from a proxy") {
		t.Errorf("the retry warning is not redacted:\n%s", stderr)
	}

	env["NETSUITE_CONCURRENCY"] = env["NETSUITE_CLIENT_SECRET"] // a bad value that happens to be a secret
	code, _, stderr = runCLI(t, env, "run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"))
	if code != exitConfig || strings.Contains(stderr, env["NETSUITE_CLIENT_SECRET"]) || !strings.Contains(stderr, `NETSUITE_CONCURRENCY: want a whole number from 1 to 100, got "[REDACTED]"`) {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}

	// From a config file as well.
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(`{"token_secret":"tok-secret-from-file","lookback":"tok-secret-from-file"}`), 0o600)
	delete(env, "NETSUITE_CONCURRENCY")
	code, _, stderr = runCLI(t, env, "run", "--config", cfg, "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"))
	if code != exitConfig || strings.Contains(stderr, "tok-secret-from-file") || !strings.Contains(stderr, "[REDACTED]") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
