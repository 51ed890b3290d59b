package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/extract-dev/extract/connector"
)

// codeServer is a token endpoint for the authorization-code grant that checks what
// NetSuite checks: Basic client auth, the code, the redirect URI and the PKCE verifier.
func codeServer(t *testing.T, challenge *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		r.ParseForm()
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		ok := id == "cid" && secret == "csec" && r.Form.Get("grant_type") == "authorization_code" &&
			r.Form.Get("code") == "the-code" && r.Form.Get("redirect_uri") == "https://example.com/cb" &&
			base64.RawURLEncoding.EncodeToString(sum[:]) == *challenge
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		io.WriteString(w, `{"access_token":"at","refresh_token":"rt-new","expires_in":3600,"token_type":"bearer"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCodeFlow(t *testing.T) {
	var challenge string
	srv := codeServer(t, &challenge)
	f, err := NewCodeFlow("https://123-sb1.app.netsuite.com/app/login/oauth2/authorize.nl", srv.URL, "cid", "csec", "https://example.com/cb", "rest_webservices", "123_SB1")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(f.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	challenge = q.Get("code_challenge")
	state := q.Get("state")
	checks := map[string]bool{
		"host":             u.Host == "123-sb1.app.netsuite.com",
		"response_type":    q.Get("response_type") == "code",
		"client_id":        q.Get("client_id") == "cid",
		"redirect_uri":     q.Get("redirect_uri") == "https://example.com/cb",
		"scope":            q.Get("scope") == "rest_webservices",
		"S256":             q.Get("code_challenge_method") == "S256" && len(challenge) == 43,
		"state length":     len(state) >= 22 && len(state) <= 1024,
		"no secret in URL": !strings.Contains(f.AuthURL(), "csec"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("authorization URL: %s wrong in %s", name, f.AuthURL())
		}
	}
	ctx := context.Background()
	bad := []struct{ redirect, want string }{
		{"https://example.com/cb?code=the-code&state=forged", "state"},
		{"https://example.com/cb?error=access_denied&state=" + state, "access_denied"},
		{"not a url", "not the URL"},
		{"https://example.com/cb?code=the-code&state=" + state + "&company=999", "999"},
	}
	for _, b := range bad {
		if _, err := f.Exchange(ctx, b.redirect, nil); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Exchange(%s) = %v, want error with %q", b.redirect, err, b.want)
		}
	}
	rt, err := f.Exchange(ctx, "https://example.com/cb?code=the-code&state="+state+"&role=3&entity=4&company=123_SB1\n", nil)
	if err != nil || rt != "rt-new" {
		t.Fatalf("Exchange = %q, %v", rt, err)
	}
	if _, err := f.Exchange(ctx, "https://example.com/cb?code=used&state="+state, nil); !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("a refused code: %v", err)
	}
}

func TestCodeFlowRejectsPlainHTTPRedirect(t *testing.T) {
	for _, ru := range []string{"http://localhost:8080/cb", "", "::bad"} {
		if _, err := NewCodeFlow("https://a", "https://t", "c", "s", ru, "rest_webservices", "1"); !errors.Is(err, connector.ErrConfig) {
			t.Errorf("redirect %q accepted: %v", ru, err)
		}
	}
}
