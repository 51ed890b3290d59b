package main

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

// authCase is one way to authenticate against the fake: its options, the environment a
// user would set, and every secret value that must never leave the credential store.
type authCase struct {
	method  string
	opts    netsuitetest.Options
	env     map[string]string
	secrets []string
	broken  map[string]string // env overrides that make authentication fail
}

func authCases(t *testing.T) []authCase {
	pub, err := os.ReadFile("../../testdata/auth/rsa3072-pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile("../../testdata/auth/rsa3072-pkcs8.pem")
	if err != nil {
		t.Fatal(err)
	}
	var keyLines []string
	for _, l := range strings.Split(string(key), "\n") {
		if len(l) > 40 && !strings.HasPrefix(l, "-----") {
			keyLines = append(keyLines, l)
		}
	}
	return []authCase{
		{
			method: "oauth2-refresh",
			opts:   netsuitetest.Options{ClientID: "cid-refresh-7f3a", ClientSecret: "csecret-refresh-91bd", RefreshToken: "rtoken-refresh-55e0", RotateRefreshTokens: true},
			env: map[string]string{"NETSUITE_CLIENT_ID": "cid-refresh-7f3a", "NETSUITE_CLIENT_SECRET": "csecret-refresh-91bd",
				"NETSUITE_REFRESH_TOKEN": "rtoken-refresh-55e0"},
			secrets: []string{"csecret-refresh-91bd", "rtoken-refresh-55e0"},
			broken:  map[string]string{"NETSUITE_CLIENT_SECRET": "csecret-wrong-0c11"},
		},
		{
			method: "oauth2-m2m",
			opts:   netsuitetest.Options{ClientID: "cid-m2m-19c2", CertificateID: "cert-m2m-77aa", CertificatePublicKeyPEM: pub},
			env: map[string]string{"NETSUITE_CLIENT_ID": "cid-m2m-19c2", "NETSUITE_CERTIFICATE_ID": "cert-m2m-77aa",
				"NETSUITE_PRIVATE_KEY": string(key)},
			secrets: keyLines,
			broken:  map[string]string{"NETSUITE_CERTIFICATE_ID": "cert-wrong-0000"},
		},
		{
			method: "tba",
			opts:   netsuitetest.Options{ConsumerKey: "ckey-tba-3e81", ConsumerSecret: "csecret-tba-a4f0", TokenID: "tokid-tba-6b2d", TokenSecret: "toksecret-tba-c9e7"},
			env: map[string]string{"NETSUITE_CONSUMER_KEY": "ckey-tba-3e81", "NETSUITE_CONSUMER_SECRET": "csecret-tba-a4f0",
				"NETSUITE_TOKEN_ID": "tokid-tba-6b2d", "NETSUITE_TOKEN_SECRET": "toksecret-tba-c9e7"},
			secrets: []string{"ckey-tba-3e81", "csecret-tba-a4f0", "tokid-tba-6b2d", "toksecret-tba-c9e7"},
			broken:  map[string]string{"NETSUITE_TOKEN_SECRET": "toksecret-wrong-1234"},
		},
	}
}

// TestEveryAuthMethodRunsAndLeaksNoSecret: a full extract of all five streams under each
// method, with NetSuite refusing some requests on the way (429s and a 401 that forces a
// fresh token or signature), then a failing run with a wrong credential. Neither stdout,
// stderr at debug level, the output files nor the state file contain a secret.
func TestEveryAuthMethodRunsAndLeaksNoSecret(t *testing.T) {
	for _, ac := range authCases(t) {
		t.Run(ac.method, func(t *testing.T) {
			opts := ac.opts
			opts.AccountID = "1234567_SB1"
			opts.Seed = 3
			opts.Rows = map[string]int{}
			for _, s := range connector.StreamNames {
				opts.Rows[s] = 1200
			}
			srv, err := netsuitetest.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var n atomic.Int32
			srv.SetFault(func(r *http.Request) (int, string, bool) {
				if !strings.HasSuffix(r.URL.Path, "/suiteql") {
					return 0, "", false
				}
				switch n.Add(1) {
				case 3, 9:
					return 429, netsuitetest.ConcurrencyLimitBody(), true
				case 6:
					return 401, netsuitetest.ErrorBody(401, "INVALID_LOGIN", "Invalid login attempt."), true
				}
				return 0, "", false
			})
			env := map[string]string{"NETSUITE_ACCOUNT_ID": "1234567_SB1", "NETSUITE_BASE_URL": srv.URL(), "NETSUITE_AUTH_METHOD": ac.method}
			for k, v := range ac.env {
				env[k] = v
			}
			dir := t.TempDir()
			args := []string{"run", "--log-level", "debug", "--state", filepath.Join(dir, "state.json"), "--output", filepath.Join(dir, "out")}
			code, stdout, stderr := runCLI(t, env, args...)
			if code != 0 {
				t.Fatalf("run exit %d: %s", code, stderr)
			}
			rows := 0
			filepath.WalkDir(filepath.Join(dir, "out"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".parquet") {
					rows++
				}
				return nil
			})
			if rows != len(connector.AllStreams()) {
				t.Fatalf("%d output files, want one per stream", rows)
			}

			for k, v := range ac.broken {
				env[k] = v
			}
			code2, stdout2, stderr2 := runCLI(t, env, args...)
			if code2 != exitAuth {
				t.Errorf("run with a wrong credential: exit %d, want %d: %s", code2, exitAuth, stderr2)
			}
			scanned := map[string][]byte{"stdout": []byte(stdout + stdout2), "stderr": []byte(stderr + stderr2)}
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				// The token file is where a rotated refresh token is meant to live.
				if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".token") {
					b, _ := os.ReadFile(p)
					scanned[p] = b
				}
				return nil
			})
			wrong := func() []string {
				var out []string
				for _, v := range ac.broken {
					out = append(out, v)
				}
				return out
			}()
			for where, content := range scanned {
				for _, s := range append(ac.secrets, wrong...) {
					if bytes.Contains(content, []byte(s)) {
						t.Errorf("%s contains the secret %.12s…", where, s)
					}
				}
			}
		})
	}
}
