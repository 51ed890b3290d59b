package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"
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

// TestBucketTokenStore: the chain on a bucket behaves as the file does, each rotation a
// new object (older ones pruned), and refused objects are left as they are.
func TestBucketTokenStore(t *testing.T) {
	ctx := context.Background()
	b := fileBucket(t)
	ts, tok, err := OpenBucketTokenStore(ctx, b, testDisplay, "123_SB1", "configured-0")
	if err != nil || tok != "configured-0" {
		t.Fatalf("no token yet: %q, %v", tok, err)
	}
	for _, r := range []string{"rotated-1", "rotated-2", "rotated-3"} {
		if err := ts.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, tok, _ = OpenBucketTokenStore(ctx, b, testDisplay, "123_SB1", "configured-0"); tok != "rotated-3" {
		t.Fatalf("next run uses %q, want the newest saved token", tok)
	}
	if _, tok, _ = OpenBucketTokenStore(ctx, b, testDisplay, "123_SB1", "configured-9"); tok != "configured-9" {
		t.Fatalf("after re-authorisation uses %q", tok)
	}
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: tokenPrefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		keys = append(keys, obj.Key)
		data, _ := b.ReadAll(ctx, obj.Key)
		if strings.Contains(string(data), "configured-0") {
			t.Fatalf("the configured token itself is stored:\n%s", data)
		}
	}
	mustEqual(t, "token objects", keys, []string{tokenKey(2), tokenKey(3)})

	// A second store that did not see the newest object still saves after it.
	stale, _, _ := OpenBucketTokenStore(ctx, b, testDisplay, "123_SB1", "configured-0")
	if err := ts.Save("rotated-4"); err != nil {
		t.Fatal(err)
	}
	if err := stale.Save("rotated-5"); err != nil {
		t.Fatal(err)
	}
	if _, tok, _ = OpenBucketTokenStore(ctx, b, testDisplay, "123_SB1", "configured-0"); tok != "rotated-5" {
		t.Fatalf("after a race uses %q, want the last saved", tok)
	}

	for _, tc := range []struct {
		content string
		want    error
	}{
		{`{"version":1,"account_id":"OTHER","refresh_token":"secret-x","seed":"y"}`, ErrAccount},
		{`not json secret-x`, ErrCorrupt},
	} {
		b := fileBucket(t)
		b.WriteAll(ctx, tokenKey(1), []byte(tc.content), nil)
		_, _, err := OpenBucketTokenStore(ctx, b, testDisplay, "123", "c")
		if !errors.Is(err, tc.want) || strings.Contains(err.Error(), "secret-x") || !strings.Contains(err.Error(), tokenKey(1)) {
			t.Errorf("%s: err = %v, want %v naming the object and not the token", tc.content, err, tc.want)
		}
		if got, _ := b.ReadAll(ctx, tokenKey(1)); string(got) != tc.content {
			t.Error("refused token object was modified")
		}
	}
}
