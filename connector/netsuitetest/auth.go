package netsuitetest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Authentication lives here, apart from the query service: the token
// endpoint's grants (refresh_token here, client_credentials with a JWT
// assertion in m2m.go) and the schemes API requests may use (Bearer here,
// OAuth 1.0a token-based authentication in tba.go).

// oauthError is an RFC 6749 token-endpoint error.
type oauthError struct {
	status int
	code   string // invalid_request, invalid_client, invalid_grant, unsupported_grant_type ...
	desc   string
}

// tokenResponse is a successful token-endpoint answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// grantHandler serves one grant_type of the token endpoint.
type grantHandler func(a *authState, r *http.Request, form url.Values) (tokenResponse, *oauthError)

type authState struct {
	account      string
	clientID     string
	clientSecret string
	rotate       bool
	ttl          time.Duration
	now          func() time.Time
	grants       map[string]grantHandler

	m2m *m2mConfig // nil: the client_credentials grant is not enabled
	tba *tbaConfig // nil: token-based authentication is not enabled

	mu      sync.Mutex
	refresh map[string]bool      // refresh tokens that are currently valid
	current string               // the newest valid refresh token
	access  map[string]time.Time // access token -> expiry (server clock)
	jtis    map[string]bool      // assertion ids already used (replay protection)
	codes   map[string]codeGrant // authorization codes not yet exchanged
	jtiLog  []string             // accepted assertion ids, in order
	nonces  map[string]bool      // TBA nonces already used
	audit   []string             // TBA login audit trail: the reason of each refusal
}

func newAuthState(o Options) *authState {
	return &authState{
		account:      o.AccountID,
		clientID:     o.ClientID,
		clientSecret: o.ClientSecret,
		rotate:       o.RotateRefreshTokens,
		ttl:          o.AccessTokenTTL,
		now:          o.Now,
		grants: map[string]grantHandler{
			"refresh_token":      refreshTokenGrant,
			"client_credentials": clientCredentialsGrant,
			"authorization_code": authorizationCodeGrant,
		},
		m2m:     newM2MConfig(o),
		tba:     newTBAConfig(o),
		refresh: map[string]bool{o.RefreshToken: true},
		current: o.RefreshToken,
		access:  map[string]time.Time{},
		jtis:    map[string]bool{},
		nonces:  map[string]bool{},
	}
}

func (a *authState) currentRefreshToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current
}

func (a *authState) revokeRefreshToken() {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.refresh, a.current)
}

var errUnauthenticated = errors.New("invalid login attempt")

// authenticate checks the Authorization header of an API request: a bearer
// token from the token endpoint, or a token-based authentication signature.
func (a *authState) authenticate(r *http.Request) error {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return a.checkAccessToken(strings.TrimSpace(cred))
	case strings.EqualFold(scheme, "OAuth"):
		return a.checkTBA(r, cred)
	default:
		return errUnauthenticated
	}
}

func (a *authState) checkAccessToken(tok string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.access[tok]
	if !ok {
		return errUnauthenticated
	}
	if !a.now().Before(exp) {
		delete(a.access, tok)
		return errUnauthenticated
	}
	return nil
}

// writeUnauthorized answers like NetSuite: the same INVALID_LOGIN body for
// every cause (the real reason only shows in the Login Audit Trail). A
// refused token-based signature is challenged with `OAuth realm="<account>"`
// rather than Bearer.
func (a *authState) writeUnauthorized(w http.ResponseWriter, r *http.Request) {
	challenge := fmt.Sprintf(`Bearer realm="%s", error="invalid_token"`, a.account)
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "OAuth") {
		challenge = fmt.Sprintf(`OAuth realm="%s"`, a.account)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeNSError(w, http.StatusUnauthorized, "INVALID_LOGIN",
		"Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.")
}

// handleToken is POST /services/rest/auth/oauth2/v1/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	a := s.auth
	if r.Method != http.MethodPost {
		a.writeOAuthError(w, &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request", desc: "use POST"})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		a.writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: "the body must be application/x-www-form-urlencoded"})
		return
	}
	if err := r.ParseForm(); err != nil {
		a.writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: "malformed form body"})
		return
	}
	form := r.PostForm
	gt := form.Get("grant_type")
	if gt == "" {
		a.writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: "grant_type is required"})
		return
	}
	h, ok := a.grants[gt]
	if !ok {
		a.writeOAuthError(w, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type"})
		return
	}
	resp, oerr := h(a, r, form)
	if oerr != nil {
		a.writeOAuthError(w, oerr)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(resp)
}

func (a *authState) writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="%s"`, a.account))
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	body := map[string]string{"error": e.code}
	if e.desc != "" {
		body["error_description"] = e.desc
	}
	_ = json.NewEncoder(w).Encode(body)
}

// refreshTokenGrant: confidential client authenticated with HTTP Basic.
func refreshTokenGrant(a *authState, r *http.Request, form url.Values) (tokenResponse, *oauthError) {
	if !a.clientAuthenticated(r) {
		return tokenResponse{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client"}
	}
	rt := form.Get("refresh_token")
	if rt == "" {
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: "refresh_token is required"}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.refresh[rt] {
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_grant"}
	}
	resp := tokenResponse{
		AccessToken: newOpaqueToken(),
		ExpiresIn:   int64(a.ttl / time.Second),
		TokenType:   "bearer",
	}
	now := a.now()
	for tok, exp := range a.access {
		if !now.Before(exp) {
			delete(a.access, tok)
		}
	}
	a.access[resp.AccessToken] = now.Add(a.ttl)
	if a.rotate {
		// Public clients: one-time refresh tokens.
		delete(a.refresh, rt)
		resp.RefreshToken = newOpaqueToken()
		a.refresh[resp.RefreshToken] = true
		a.current = resp.RefreshToken
	}
	return resp, nil
}

// clientAuthenticated checks HTTP Basic client credentials. RFC 6749 form-
// encodes the id and secret before Basic encoding (x/oauth2 does), many
// clients do not; accept either spelling.
func (a *authState) clientAuthenticated(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return false
	}
	return matchesCredential(id, a.clientID) && matchesCredential(secret, a.clientSecret)
}

func matchesCredential(got, want string) bool {
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
		return true
	}
	u, err := url.QueryUnescape(got)
	return err == nil && subtle.ConstantTimeCompare([]byte(u), []byte(want)) == 1
}

// newOpaqueToken returns 43 random URL-safe characters.
func newOpaqueToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
