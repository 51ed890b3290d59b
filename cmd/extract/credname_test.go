package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
)

// TestCredentialErrorsNameTheSettingAsSet: an error about a credential names it the way
// the user set it: the config-file key and file for a value from --config, the
// environment variable for one from the environment, the flag for one from a flag.
func TestCredentialErrorsNameTheSettingAsSet(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.json")
	notAFile := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(notAFile, 0o700); err != nil {
		t.Fatal(err)
	}
	m2m := map[string]string{"NETSUITE_AUTH_METHOD": "oauth2-m2m", "NETSUITE_CLIENT_ID": "id", "NETSUITE_CERTIFICATE_ID": "cert"}
	refresh := map[string]string{"NETSUITE_AUTH_METHOD": "oauth2-refresh", "NETSUITE_CLIENT_ID": "id", "NETSUITE_REFRESH_TOKEN": "rt"}
	cases := []struct {
		name  string
		file  string            // config file content; "" for none
		env   map[string]string // besides NETSUITE_ACCOUNT_ID
		flags []string
		want  string // in the error
		never string // not in the error
	}{
		{"client_secret empty in the config file", `{"client_secret":""}`, refresh, nil,
			`"client_secret" in ` + cfgPath + ` is required for NETSUITE_AUTH_METHOD=oauth2-refresh`, "NETSUITE_CLIENT_SECRET"},
		{"client_secret not set anywhere", "", refresh, nil,
			"NETSUITE_CLIENT_SECRET is required for NETSUITE_AUTH_METHOD=oauth2-refresh", `"client_secret"`},
		{"auth method from the config file", `{"auth_method":"oauth2-refresh","client_secret":""}`, map[string]string{"NETSUITE_CLIENT_ID": "id", "NETSUITE_REFRESH_TOKEN": "rt"}, nil,
			`"client_secret" in ` + cfgPath + ` is required for "auth_method" in ` + cfgPath + `=oauth2-refresh`, "NETSUITE_"},
		{"private_key not PEM in the config file", `{"private_key":"not a key"}`, m2m, nil,
			`"private_key" in ` + cfgPath + ` is not a PEM private key`, "NETSUITE_PRIVATE_KEY"},
		{"private_key not PEM in the environment", "", with(m2m, "NETSUITE_PRIVATE_KEY", "not a key"), nil,
			"NETSUITE_PRIVATE_KEY is not a PEM private key", `"private_key"`},
		{"private_key_file unreadable in the config file", `{"private_key_file":"` + filepath.Join(dir, "missing.pem") + `"}`, m2m, nil,
			`"private_key_file" in ` + cfgPath + `: cannot read`, "NETSUITE_PRIVATE_KEY_FILE"},
		{"both keys, one from the file and one from the environment", `{"private_key_file":"k.pem"}`, with(m2m, "NETSUITE_PRIVATE_KEY", "x"), nil,
			`set "private_key_file" in ` + cfgPath + ` or NETSUITE_PRIVATE_KEY, not both`, "NETSUITE_PRIVATE_KEY_FILE"},
		{"token_file unusable in the config file", `{"token_file":"` + notAFile + `","client_secret":"s"}`, refresh, nil,
			`"token_file" in ` + cfgPath, "NETSUITE_TOKEN_FILE"},
		{"token_file unusable in the environment", "", with(with(refresh, "NETSUITE_TOKEN_FILE", notAFile), "NETSUITE_CLIENT_SECRET", "s"), nil,
			"NETSUITE_TOKEN_FILE", `"token_file"`},
		{"token_file unusable from the flag", `{"token_file":"elsewhere","client_secret":"s"}`, with(refresh, "NETSUITE_TOKEN_FILE", "elsewhere"), []string{"--token-file", notAFile},
			"--token-file", "NETSUITE_TOKEN_FILE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--state", filepath.Join(dir, "s.json")}, tc.flags...)
			if tc.file != "" {
				if err := os.WriteFile(cfgPath, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cfgPath)
			}
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg, err := loadConfig(nil, fs, args, envOf(with(tc.env, "NETSUITE_ACCOUNT_ID", "1234567")), authFull)
			if err == nil {
				_, err = auth.NewTransport(cfg.Auth, http.DefaultTransport)
			}
			if !errors.Is(err, connector.ErrConfig) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.never) {
				t.Errorf("error %q\nwant it to contain %q and not %q", err, tc.want, tc.never)
			}
		})
	}
}

// with returns a copy of m with k set to v.
func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		if a != k {
			out[a] = b
		}
	}
	return out
}

// TestAlgorithmErrorNamesTheSettingAsSet: a JWT algorithm that does not fit the key is
// named as the user set it, as the credentials are.
func TestAlgorithmErrorNamesTheSettingAsSet(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, cfgPath := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.json")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	env := map[string]string{"NETSUITE_ACCOUNT_ID": "1234567", "NETSUITE_AUTH_METHOD": "oauth2-m2m", "NETSUITE_CLIENT_ID": "id",
		"NETSUITE_CERTIFICATE_ID": "cert", "NETSUITE_PRIVATE_KEY_FILE": keyPath}
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"config file", `{"jwt_algorithm":"RS256"}`, env, `"jwt_algorithm" in ` + cfgPath + `=RS256: NetSuite no longer accepts`},
		{"environment", "", with(env, "NETSUITE_JWT_ALGORITHM", "ES256"), "NETSUITE_JWT_ALGORITHM=ES256 needs an EC key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--state", filepath.Join(dir, "s.json")}
			if tc.file != "" {
				os.WriteFile(cfgPath, []byte(tc.file), 0o600)
				args = append(args, "--config", cfgPath)
			}
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg, err := loadConfig(nil, fs, args, envOf(tc.env), authFull)
			if err == nil {
				_, err = auth.NewTransport(cfg.Auth, http.DefaultTransport)
			}
			if !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a configuration error containing %q", err, tc.want)
			}
		})
	}
}
