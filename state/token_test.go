package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenStoreChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json.token")
	ts, tok, err := OpenTokenStore(path, "123_SB1", "configured-0")
	if err != nil || tok != "configured-0" {
		t.Fatalf("no file yet: %q, %v", tok, err)
	}
	if err := ts.Save("rotated-1"); err != nil {
		t.Fatal(err)
	}
	if err := ts.Save("rotated-2"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if _, tok, _ = OpenTokenStore(path, "123_SB1", "configured-0"); tok != "rotated-2" {
		t.Fatalf("next run uses %q, want the newest saved token", tok)
	}
	// The user authorised again and configured a new token: it wins over the old chain.
	if _, tok, _ = OpenTokenStore(path, "123_SB1", "configured-9"); tok != "configured-9" {
		t.Fatalf("after re-authorisation uses %q", tok)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "configured-0") {
		t.Fatalf("the configured token itself is written to the token file:\n%s", b)
	}
}

func TestTokenStoreRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		content string
		want    error
	}{
		{`{"version":1,"account_id":"OTHER","refresh_token":"x","seed":"y"}`, ErrAccount},
		{`not json`, ErrCorrupt},
		{`{"version":7}`, ErrCorrupt},
	}
	for i, tc := range cases {
		path := filepath.Join(dir, string(rune('a'+i)))
		os.WriteFile(path, []byte(tc.content), 0o600)
		if _, _, err := OpenTokenStore(path, "123", "c"); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.content, err, tc.want)
		}
		if b, _ := os.ReadFile(path); string(b) != tc.content {
			t.Errorf("refused token file was modified")
		}
	}
}
