package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extract-dev/extract/connector"
)

// writeSecret writes content to a file of mode perm in a fresh directory.
func writeSecret(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestEverySecretHasAFileSetting(t *testing.T) {
	byKey := map[string]setting{}
	for _, s := range settings {
		byKey[s.key] = s
	}
	for _, s := range settings {
		if !s.secret {
			continue
		}
		f, ok := byKey[s.key+"_file"]
		if !ok || f.env != s.env+"_FILE" {
			t.Errorf("%s: no %s_file / %s_FILE setting (got %+v)", s.key, s.key, s.env, f)
		}
	}
}

// TestSecretFiles: NAME_FILE and name_file give the secret the file's content less one
// trailing newline; errors name the setting and the path, never the content.
func TestSecretFiles(t *testing.T) {
	const secret = "csecret-from-file-4e1d"
	cases := []struct {
		name       string
		content    string
		perm       os.FileMode
		env        map[string]string // PATH stands for the file
		config     string            // JSON; PATH stands for the file
		want       string            // client_secret
		wantErr    []string          // all in the error
		wantWarned bool
	}{
		{name: "env", content: secret + "\n", perm: 0o600, env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH"}, want: secret},
		{name: "one newline only", content: secret + "\n\n", perm: 0o400, env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH"}, want: secret + "\n"},
		{name: "crlf", content: secret + "\r\n", perm: 0o600, env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH"}, want: secret},
		{name: "config file", content: secret, perm: 0o600, config: `{"client_secret_file": "PATH"}`, want: secret},
		{name: "world-readable", content: secret, perm: 0o644, env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH"}, want: secret, wantWarned: true},
		{name: "both", content: secret, perm: 0o600, env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH", "NETSUITE_CLIENT_SECRET": "other"},
			wantErr: []string{"NETSUITE_CLIENT_SECRET and NETSUITE_CLIENT_SECRET_FILE are both set"}},
		{name: "both across sources", content: secret, perm: 0o600, env: map[string]string{"NETSUITE_CLIENT_SECRET": "other"}, config: `{"client_secret_file": "PATH"}`,
			wantErr: []string{"NETSUITE_CLIENT_SECRET and \"client_secret_file\" in", "are both set"}},
		{name: "missing", env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH.missing"}, wantErr: []string{"NETSUITE_CLIENT_SECRET_FILE: cannot read", "PATH.missing"}},
		{name: "empty", content: "\n", perm: 0o600, env: map[string]string{"NETSUITE_CLIENT_SECRET_FILE": "PATH"}, wantErr: []string{"NETSUITE_CLIENT_SECRET_FILE", "is empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "absent")
			if tc.perm != 0 {
				path = writeSecret(t, tc.content, tc.perm)
			}
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = strings.ReplaceAll(v, "PATH", path)
			}
			configPath := ""
			if tc.config != "" {
				configPath = filepath.Join(t.TempDir(), "config.json")
				if err := os.WriteFile(configPath, []byte(strings.ReplaceAll(tc.config, "PATH", path)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			val, from, err := values(flag.NewFlagSet("x", flag.ContinueOnError), configPath, envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := readSecretFiles(val, from)
			if tc.wantErr != nil {
				if !errors.Is(err, connector.ErrConfig) {
					t.Fatalf("error %v, want a config error", err)
				}
				for _, w := range tc.wantErr {
					if w = strings.ReplaceAll(w, "PATH", path); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if val["client_secret"] != tc.want {
				t.Errorf("client_secret = %q, want %q", val["client_secret"], tc.want)
			}
			if got := len(warnings) > 0; got != tc.wantWarned {
				t.Errorf("warnings %q, want warned %v", warnings, tc.wantWarned)
			}
			r := newRedactor()
			addSecrets(r, val)
			if got := r.String("token " + secret + " end"); strings.Contains(got, secret) {
				t.Errorf("the redactor does not know the secret read from the file: %q", got)
			}
		})
	}
}

// TestRunWithSecretFiles: a run whose client secret and refresh token come from files
// works, warns about the world-readable one, and never prints either.
func TestRunWithSecretFiles(t *testing.T) {
	_, env := fakeEnv(t, 50)
	secret, token := env["NETSUITE_CLIENT_SECRET"], env["NETSUITE_REFRESH_TOKEN"]
	delete(env, "NETSUITE_CLIENT_SECRET")
	delete(env, "NETSUITE_REFRESH_TOKEN")
	env["NETSUITE_CLIENT_SECRET_FILE"] = writeSecret(t, secret+"\n", 0o644)
	env["NETSUITE_REFRESH_TOKEN_FILE"] = writeSecret(t, token+"\n", 0o400)
	dir := t.TempDir()
	code, out, stderr := runCLI(t, env, "run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--streams", "task")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "secret file readable by every user") || !strings.Contains(stderr, "NETSUITE_CLIENT_SECRET_FILE") ||
		strings.Contains(stderr, "NETSUITE_REFRESH_TOKEN_FILE: ") {
		t.Errorf("want one warning, about NETSUITE_CLIENT_SECRET_FILE:\n%s", stderr)
	}
	for _, s := range []string{secret, token} {
		if strings.Contains(out+stderr, s) {
			t.Errorf("output shows a secret read from a file")
		}
	}
}
