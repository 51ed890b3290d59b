package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/state"
)

// FuzzConfigFile: whatever bytes the --config file holds, loading the configuration never
// panics; a refusal is a configuration error (or, for the refresh-token file, a state
// error) whose message names a setting or --config; and no message quotes a secret value
// from the file. A configuration that loads is also handed to auth.NewTransport, which
// parses the M2M key and validates the method's settings, under the same rules.
//
//	go test -run '^$' -fuzz FuzzConfigFile -fuzztime 60s ./cmd/extract/
func FuzzConfigFile(f *testing.F) {
	ecKey, err := os.ReadFile("../../testdata/auth/ec256-sec1.pem")
	if err != nil {
		f.Fatal(err)
	}
	keyJSON, _ := json.Marshal(string(ecKey))
	seeds := []string{
		``,
		`null`,
		`[]`,
		`{}`,
		`"account_id"`,
		`{"account_id":"TSTDRV1","auth_method":"oauth2-refresh","client_id":"cid-4711","client_secret":"csecret-9a8b7c6d","refresh_token":"rtoken-1q2w3e4r"}`,
		`{"account_id":"1234567_SB1","auth_method":"oauth2-refresh","client_id":"c","client_secret":"s3cr3t-value","refresh_token":"r3fr3sh-value","format":"ndjson","concurrency":3,"output":"o","token_file":"tok"}`,
		`{"account_id":"1234567_SB1","auth_method":"tba","consumer_key":"ck-0123456789","consumer_secret":"cs-abcdefghij","token_id":"tid-0123456789","token_secret":"ts-abcdefghij","timezone":"-08:00"}`,
		`{"account_id":"1234567","auth_method":"oauth2-m2m","client_id":"cid-m2m-1234","certificate_id":"cert-1","private_key":` + string(keyJSON) + `,"jwt_algorithm":"ES256","scope":"rest_webservices,restlets"}`,
		`{"account_id":"1234567","auth_method":"oauth2-m2m","client_id":"cid-m2m-1234","certificate_id":"cert-1","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----","private_key_file":"k.pem"}`,
		`{"account_id":"1234567","auth_method":"oauth2-m2m","client_id":"x","certificate_id":"c","private_key_file":"no-such.pem"}`,
		`{"account_id":"12 34","auth_method":"password"}`,
		`{"account_id":"TSTDRV1","auth_method":"oauth2-refresh","client_secret":"only-the-secret-1"}`,
		`{"concurrency":{"n":4}}`,
		`{"streams":["task"]}`,
		`{"file_rows":-1,"lookback":"-5m","request_timeout":"0s","start_date":"01/02/2024"}`,
		`{"account_id":"TSTDRV1","auth_method":"oauth2-refresh","client_id":"c","client_secret":"s","refresh_token":"r","streams":"task,tasks"}`,
		`{"account_id":"TSTDRV1","auth_method":"oauth2-refresh","client_id":"c","client_secret":"s","refresh_token":"r","timezone":"Mars/Base","log_level":"trace"}`,
		`{"acount_id":"TSTDRV1"}`,
		`{"format":"ndjson"}{"format":"parquet"}`,
		`{"client_secret":"unterminated-secret-value`,
		`{"client_secret":"dup-secret-1","client_secret":"dup-secret-2"}`,
		`{"client_secret":12345678901,"refresh_token":true,"state":null}`,
		"{\"client_secret\":\"caf\xff\xfe-secret\",\"account_id\":\"\u00e9\"}",
		`{"account_id":"1234567","auth_method":"oauth2-m2m","client_id":"cid-m2m-1234","certificate_id":"cert-1","private_key":` + string(keyJSON) + `,"jwt_algorithm":"RS256"}`,
		`{"account_id":"TSTDRV1","auth_method":"oauth2-refresh","client_id":"c","client_secret":"s","refresh_token":"r","timezone":"+99:00","request_timeout":"5x"}`,
		// A token file that cannot be read (a directory): product bug, exits 1 instead of 2.
		`{"account_id":"TSTDRV1","auth_method":"oauth2-refresh","client_id":"c","client_secret":"s","refresh_token":"r","token_file":"."}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	base := fuzzDir(f)
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		if unsafePaths(data) {
			return // a path to a device or a huge file: reading it would hang, not fail
		}
		path := filepath.Join(base, fmt.Sprintf("c%d.json", seq.Add(1)))
		msg, err := loadFuzzedConfig(t, path, data)
		if err == nil {
			return
		}
		for _, s := range secretValues(data) {
			if !strings.Contains(msg, s) {
				continue
			}
			// The value may be in the message by coincidence (a secret "required" and a
			// message saying "is required", or "secret" and the list of known keys). Run
			// again with the value, and only the value, replaced by a canary of the same
			// length: a leak echoes the canary too.
			canary := canaryFor(s)
			data2, ok := replaceInSecretValues(data, s, canary)
			if !ok {
				// Written with escapes: it cannot be swapped in place. Only a long value
				// is unlikely to be in the message by chance.
				if len(s) >= 12 {
					t.Fatalf("the error quotes the secret value %q: %s", s, msg)
				}
				continue
			}
			msg2, _ := loadFuzzedConfig(t, path, data2)
			if strings.Contains(msg2, canary) {
				t.Fatalf("the error quotes the secret value %q: %s", s, msg)
			}
		}
	})
}

// fuzzDir is where the fuzzed config files go: memory-backed /dev/shm when there is one,
// because creating and removing a file per input on a disk file system (ext4 mounted with
// discard, here) stalled the fuzzer for tens of seconds at a time.
func fuzzDir(f *testing.F) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "fuzzconfig-"); err == nil {
			f.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return f.TempDir()
}

// loadFuzzedConfig writes data as the config file and runs the CLI's loadConfig (values +
// buildConfig) with no environment, then auth.NewTransport on a configuration that loads.
// It checks the error's class and naming and returns its message.
func loadFuzzedConfig(t *testing.T, path string, data []byte) (string, error) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(nil, fs, []string{"--config", path}, func(string) string { return "" }, authFull)
	stage := "loadConfig"
	if err == nil {
		if cfg == nil {
			t.Fatal("loadConfig returned neither a config nor an error")
		}
		_, err = auth.NewTransport(cfg.Auth, http.DefaultTransport)
		stage = "auth.NewTransport"
		if err == nil {
			return "", nil
		}
	}
	msg := err.Error()
	if !errors.Is(err, connector.ErrConfig) && !errors.Is(err, state.ErrCorrupt) && !errors.Is(err, state.ErrAccount) {
		t.Fatalf("%s: error is neither a configuration error nor a refused token file (exit code %d, want %d): %s",
			stage, exitCode(err), exitConfig, msg)
	}
	if !namesSetting(msg) {
		t.Fatalf("%s: error names no setting: %s", stage, msg)
	}
	return msg, err
}

// namesSetting reports whether msg names a setting the way a user knows it: --config, a
// quoted config key, an environment variable, a flag, or the token file.
func namesSetting(msg string) bool {
	if strings.Contains(msg, "--config") || strings.Contains(msg, "token file") {
		return true
	}
	for _, s := range settings {
		if strings.Contains(msg, `"`+s.key+`"`) || (s.env != "" && strings.Contains(msg, s.env)) ||
			(s.flag != "" && strings.Contains(msg, "--"+s.flag)) {
			return true
		}
	}
	return false
}

// configValues decodes data the way readConfigFile does (strings and numbers), ignoring
// anything it would refuse.
func configValues(data []byte) map[string]string {
	var raw map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(data)).Decode(&raw) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			out[k] = n.String()
		}
	}
	return out
}

// secretValues are the values of secret settings in data that are long enough for
// "the message contains it" to mean something.
func secretValues(data []byte) []string {
	vals := configValues(data)
	var out []string
	for _, s := range settings {
		if v := vals[s.key]; s.secret && len(v) >= 6 {
			out = append(out, v)
		}
	}
	// Raw JSON text of a secret setting that readConfigFile refuses (an object, an
	// array) must not be echoed either.
	var raw map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(data)).Decode(&raw) == nil {
		for _, s := range settings {
			if v := string(raw[s.key]); s.secret && len(v) >= 8 && vals[s.key] == "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// replaceInSecretValues replaces s by canary inside the raw values of the secret settings
// of the top-level object in data, leaving keys and other values alone. ok is false when
// no such value holds s verbatim.
func replaceInSecretValues(data []byte, s, canary string) (out []byte, ok bool) {
	secret := map[string]bool{}
	for _, st := range settings {
		secret[st.key] = st.secret
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	out = bytes.Clone(data)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if !secret[key] || start < 0 || !bytes.Equal(data[start:end], raw) {
			continue
		}
		if v := bytes.ReplaceAll(raw, []byte(s), []byte(canary)); !bytes.Equal(v, raw) {
			copy(out[start:end], v) // same length: s and canary are
			ok = true
		}
	}
	return out, ok
}

// canaryFor is a string of len(s) bytes sharing no byte with s at any position, made of
// letters only so that substituting it cannot change the JSON's structure.
func canaryFor(s string) string {
	b := make([]byte, len(s))
	for i := range b {
		c := byte('Q')
		if i%2 == 1 {
			c = 'x'
		}
		if s[i] == c {
			c = 'J'
		}
		b[i] = c
	}
	return string(b)
}

// unsafePaths reports whether the config names a file that loadConfig would read and
// that is not a small regular file or a directory: /dev/zero or a FIFO would block the
// fuzzer, not exercise the product.
func unsafePaths(data []byte) bool {
	vals := configValues(data)
	st := vals["state"]
	if _, ok := vals["state"]; !ok {
		st = "extract-state.json"
	}
	tokenFile := vals["token_file"]
	if tokenFile == "" {
		tokenFile = st + ".token"
	}
	for _, p := range []string{vals["private_key_file"], tokenFile} {
		if p == "" {
			continue
		}
		clean := filepath.Clean(p)
		for _, prefix := range []string{"/dev", "/proc", "/sys"} {
			if clean == prefix || strings.HasPrefix(clean, prefix+"/") {
				return true
			}
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.IsDir() && (!fi.Mode().IsRegular() || fi.Size() > 1<<20) {
			return true
		}
	}
	return false
}
