package netsuitetest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// codeGrant is an issued authorization code: single use, bound to the redirect URI and
// the PKCE challenge it was asked with, valid for a few minutes.
type codeGrant struct {
	redirectURI, challenge string
	expires                time.Time
}

// Authorize plays the user approving access on NetSuite's authorization page: it checks
// the URL the client built (client id, https or custom-scheme redirect, S256 PKCE, a
// state of 22–1024 characters, scope) and returns the URL NetSuite redirects to.
func (s *Server) Authorize(authURL string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	a := s.auth
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("response_type") != "code":
		return "", fmt.Errorf("response_type must be code")
	case q.Get("client_id") != a.clientID:
		return "", fmt.Errorf("unknown client_id")
	case err != nil || redirect.Scheme == "" || strings.EqualFold(redirect.Scheme, "http"):
		return "", fmt.Errorf("redirect_uri must be https or a custom scheme")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		return "", fmt.Errorf("PKCE with S256 is required")
	case len(q.Get("state")) < 22 || len(q.Get("state")) > 1024:
		return "", fmt.Errorf("state must be 22 to 1024 characters")
	case !strings.Contains(" "+q.Get("scope")+" ", " rest_webservices "):
		return "", fmt.Errorf("scope must include rest_webservices")
	}
	code := newOpaqueToken()
	a.mu.Lock()
	if a.codes == nil {
		a.codes = map[string]codeGrant{}
	}
	a.codes[code] = codeGrant{redirectURI: redirect.String(), challenge: q.Get("code_challenge"), expires: a.now().Add(5 * time.Minute)}
	a.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	back.Set("role", "3")
	back.Set("entity", "-5")
	back.Set("company", a.account)
	redirect.RawQuery = back.Encode()
	return redirect.String(), nil
}

// authorizationCodeGrant exchanges a code for an access and a refresh token: Basic client
// auth, the same redirect URI, and a code_verifier whose S256 is the challenge.
func authorizationCodeGrant(a *authState, r *http.Request, form url.Values) (tokenResponse, *oauthError) {
	if !a.clientAuthenticated(r) {
		return tokenResponse{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client"}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.codes[form.Get("code")]
	delete(a.codes, form.Get("code")) // single use, even when the exchange fails
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	if !ok || a.now().After(g.expires) || form.Get("redirect_uri") != g.redirectURI ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_grant"}
	}
	resp := tokenResponse{AccessToken: newOpaqueToken(), RefreshToken: newOpaqueToken(), ExpiresIn: int64(a.ttl / time.Second), TokenType: "bearer"}
	a.access[resp.AccessToken] = a.now().Add(a.ttl)
	a.refresh[resp.RefreshToken] = true
	a.current = resp.RefreshToken
	return resp, nil
}
