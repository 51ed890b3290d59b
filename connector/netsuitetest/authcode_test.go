package netsuitetest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizationCodeGrant(t *testing.T) {
	s := startServer(t, Options{})
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	authURL := func(mod func(url.Values)) string {
		q := url.Values{"response_type": {"code"}, "client_id": {"demo-client-id"}, "redirect_uri": {"https://example.com/cb"},
			"scope": {"rest_webservices"}, "state": {strings.Repeat("s", 22)}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		if mod != nil {
			mod(q)
		}
		return "https://x.app.netsuite.com/app/login/oauth2/authorize.nl?" + q.Encode()
	}
	refused := map[string]func(url.Values){
		"plain http redirect": func(q url.Values) { q.Set("redirect_uri", "http://localhost/cb") },
		"plain PKCE":          func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"short state":         func(q url.Values) { q.Set("state", "abc") },
		"other client":        func(q url.Values) { q.Set("client_id", "x") },
		"no rest scope":       func(q url.Values) { q.Set("scope", "restlets") },
	}
	for name, mod := range refused {
		if _, err := s.Authorize(authURL(mod)); err == nil {
			t.Errorf("%s: authorized", name)
		}
	}
	exchange := func(code, verifier, redirect string) int {
		status, _, _ := tokenRequest(t, s, "demo-client-id", "demo-client-secret", url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
		return status
	}
	codeOf := func() string {
		back, err := s.Authorize(authURL(nil))
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(back)
		if u.Query().Get("state") != strings.Repeat("s", 22) || u.Query().Get("company") == "" {
			t.Fatalf("redirect %s", back)
		}
		return u.Query().Get("code")
	}
	if st := exchange(codeOf(), "wrong-verifier", "https://example.com/cb"); st != http.StatusBadRequest {
		t.Errorf("wrong verifier: %d", st)
	}
	if st := exchange(codeOf(), verifier, "https://example.com/other"); st != http.StatusBadRequest {
		t.Errorf("other redirect: %d", st)
	}
	code := codeOf()
	if st := exchange(code, verifier, "https://example.com/cb"); st != http.StatusOK {
		t.Fatalf("valid exchange: %d", st)
	}
	if st := exchange(code, verifier, "https://example.com/cb"); st != http.StatusBadRequest {
		t.Errorf("code used twice: %d", st)
	}
}
