package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extract-dev/extract/connector/netsuitetest"
)

// TestAuthCommandSavesTokenForRun drives `extract auth` like a person would: read the
// printed URL, approve it at NetSuite (the fake), paste the redirect back. Then `extract
// run` works with no NETSUITE_REFRESH_TOKEN at all.
func TestAuthCommandSavesTokenForRun(t *testing.T) {
	srv, err := netsuitetest.New(netsuitetest.Options{AccountID: "TSTDRV1", Rows: map[string]int{"task": 30}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := map[string]string{"NETSUITE_ACCOUNT_ID": "TSTDRV1", "NETSUITE_BASE_URL": srv.URL(),
		"NETSUITE_CLIENT_ID": "demo-client-id", "NETSUITE_CLIENT_SECRET": "demo-client-secret"}
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")

	redirect := func(authURL string) string {
		back, err := srv.Authorize(authURL)
		if err != nil {
			t.Fatalf("NetSuite refused the authorization URL: %v\n%s", err, authURL)
		}
		return back
	}
	code, out, stderr := runAuth(t, env, []string{"auth", "--state", statePath, "--redirect-uri", "https://example.com/callback"}, redirect)
	if code != 0 {
		t.Fatalf("auth exit %d: %s\n%s", code, stderr, out)
	}
	if !strings.Contains(out, "code_challenge_method=S256") || !strings.Contains(out, "Saved the refresh token") {
		t.Errorf("auth output:\n%s", out)
	}
	if strings.Contains(out+stderr, srv.RefreshToken()) || strings.Contains(out+stderr, "demo-client-secret") {
		t.Errorf("auth printed a secret")
	}
	b, err := os.ReadFile(statePath + ".token")
	if err != nil || !bytes.Contains(b, []byte(srv.RefreshToken())) {
		t.Fatalf("token file: %v\n%s", err, b)
	}

	env["NETSUITE_AUTH_METHOD"] = "oauth2-refresh"
	code, _, stderr = runCLI(t, env, "run", "--state", statePath, "--output", filepath.Join(dir, "out"), "--streams", "task")
	if code != 0 {
		t.Fatalf("run with the saved token: exit %d: %s", code, stderr)
	}

	// A pasted redirect from another attempt (wrong state) is refused and saves nothing.
	before, _ := os.ReadFile(statePath + ".token")
	code, _, stderr = runAuth(t, env, []string{"auth", "--state", statePath, "--redirect-uri", "https://example.com/callback"},
		func(string) string { return "https://example.com/callback?code=abc&state=forged" })
	if code != exitAuth || !strings.Contains(stderr, "state") {
		t.Errorf("forged redirect: exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(statePath + ".token"); !bytes.Equal(before, after) {
		t.Errorf("a refused authorization changed the token file")
	}
}

// runAuth runs `extract auth` with pipes, answering the printed URL with respond(url).
func runAuth(t *testing.T, env map[string]string, args []string, respond func(string) string) (int, string, string) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(context.Background(), args, runEnv{stdin: inR, stdout: outW, stderr: &stderr, getenv: envOf(env)})
		outW.Close()
		done <- code
	}()
	var out strings.Builder
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if u := strings.TrimSpace(line); strings.HasPrefix(u, "https://") {
			go func() { io.WriteString(inW, respond(u)+"\n") }()
		}
	}
	inW.Close()
	return <-done, out.String(), stderr.String()
}
