// Package auth turns NetSuite credentials into an http.RoundTripper that authenticates
// every request: OAuth 2.0 bearer tokens from the refresh-token grant or the client
// credentials (M2M) grant, with one refresh-and-retry on 401, or token-based
// authentication (OAuth 1.0a HMAC-SHA256 signatures), re-signed for every attempt.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/extract-dev/extract/connector"
)

// Method is how the connector authenticates.
type Method string

const (
	OAuth2Refresh Method = "oauth2-refresh"
	OAuth2M2M     Method = "oauth2-m2m"
	TBA           Method = "tba"
)

// ParseMethod validates NETSUITE_AUTH_METHOD.
func ParseMethod(s string) (Method, error) {
	switch m := Method(strings.ToLower(strings.TrimSpace(s))); m {
	case OAuth2Refresh, OAuth2M2M, TBA:
		return m, nil
	case "":
		return "", fmt.Errorf("%w: NETSUITE_AUTH_METHOD is not set (want oauth2-refresh, oauth2-m2m or tba)", connector.ErrConfig)
	default:
		return "", fmt.Errorf("%w: NETSUITE_AUTH_METHOD %q is not a known method (want oauth2-refresh, oauth2-m2m or tba)", connector.ErrConfig, s)
	}
}

// Config holds what each method needs. Secrets live only here and in outgoing headers.
type Config struct {
	Method    Method
	AccountID string // as NetSuite writes it for the TBA realm: upper case, "_" (1234567_SB1)
	TokenURL  string

	// OAuth 2.0 (both grants use ClientID).
	ClientID, ClientSecret string
	RefreshToken           string
	// OnRefreshToken is called with a new refresh token when NetSuite rotates it (public
	// clients get one-time refresh tokens); persist it before it is needed again.
	OnRefreshToken func(string) error

	// OAuth 2.0 client credentials (M2M): the certificate id NetSuite assigned to the
	// uploaded public certificate, and the PEM private key that signs the JWT assertion.
	CertificateID string
	PrivateKeyPEM []byte
	// PrivateKeySource names where PrivateKeyPEM came from, for error messages
	// ("NETSUITE_PRIVATE_KEY_FILE /path/key.pem" or "NETSUITE_PRIVATE_KEY").
	PrivateKeySource string
	// Algorithm is the JWT algorithm: PS256 (RSA) or ES256 (EC P-256) by default from the
	// key type; PS384, PS512, ES384, ES512 may be chosen. RS256 is refused (NetSuite ended it).
	Algorithm string
	Scope     string // default "rest_webservices"

	// Token-based authentication (OAuth 1.0a, HMAC-SHA256).
	ConsumerKey, ConsumerSecret, TokenID, TokenSecret string

	// Now is the clock for JWT iat/exp and TBA timestamps; nil means time.Now.
	Now func() time.Time

	// Names says how the user set a setting, by its config-file key (client_id,
	// client_secret, …), for error messages: `"client_secret" in /etc/c.json` for a value
	// from a config file. Nil, or "" for a key: its NETSUITE_* environment variable.
	Names func(key string) string
}

// name is how the user set the setting key (see Names).
func (c Config) name(key string) string {
	return nameBy(c.Names, key)
}

func nameBy(names func(string) string, key string) string {
	if names != nil {
		if n := names(key); n != "" {
			return n
		}
	}
	return "NETSUITE_" + strings.ToUpper(key)
}

// Validate names the first missing setting.
func (c Config) Validate() error {
	need := func(v, key string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%w: %s is required for %s=%s", connector.ErrConfig, c.name(key), c.name("auth_method"), c.Method)
		}
		return nil
	}
	switch c.Method {
	case OAuth2Refresh:
		return errors.Join(need(c.ClientID, "client_id"), need(c.ClientSecret, "client_secret"),
			need(c.RefreshToken, "refresh_token"), need(c.TokenURL, "token_url"))
	case OAuth2M2M:
		var key error
		if len(c.PrivateKeyPEM) == 0 {
			key = fmt.Errorf("%w: %s or %s is required for %s=%s", connector.ErrConfig, c.name("private_key_file"), c.name("private_key"), c.name("auth_method"), c.Method)
		}
		return errors.Join(need(c.ClientID, "client_id"), need(c.CertificateID, "certificate_id"), key,
			need(c.TokenURL, "token_url"))
	case TBA:
		return errors.Join(need(c.ConsumerKey, "consumer_key"), need(c.ConsumerSecret, "consumer_secret"),
			need(c.TokenID, "token_id"), need(c.TokenSecret, "token_secret"), need(c.AccountID, "account_id"))
	default:
		_, err := ParseMethod(string(c.Method))
		return err
	}
}

// NewTransport returns a RoundTripper that authenticates requests sent through base.
// Token requests go through base as well, so they share its concurrency limit.
func NewTransport(c Config, base http.RoundTripper) (http.RoundTripper, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tokenClient := &http.Client{Transport: base, Timeout: time.Minute}
	switch c.Method {
	case TBA:
		return newTBATransport(c, base), nil
	case OAuth2M2M:
		// The key is parsed here so that a bad key fails before any request.
		src, err := newM2MSource(c, tokenClient)
		if err != nil {
			return nil, err
		}
		return &bearerTransport{base: base, fetch: src.token, method: c.Method, account: c.AccountID}, nil
	}
	src := &refreshSource{
		conf: &oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		},
		refresh:  c.RefreshToken,
		onRotate: c.OnRefreshToken,
		client:   tokenClient,
		account:  c.AccountID,
		names:    c.Names,
	}
	return &bearerTransport{base: base, fetch: src.token, method: c.Method, account: c.AccountID}, nil
}

// refreshSource exchanges the refresh token for access tokens, remembering a rotated one.
type refreshSource struct {
	conf     *oauth2.Config
	client   *http.Client
	account  string
	names    func(string) string
	onRotate func(string) error

	mu      sync.Mutex
	refresh string
}

func (s *refreshSource) token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	tok, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
	if err != nil {
		return nil, classifyTokenError(err, OAuth2Refresh, s.account, s.names)
	}
	if tok.RefreshToken != "" && tok.RefreshToken != s.refresh {
		s.refresh = tok.RefreshToken
		if s.onRotate != nil {
			if err := s.onRotate(tok.RefreshToken); err != nil {
				return nil, fmt.Errorf("%w: NetSuite rotated the refresh token but saving the new one failed (the old one is no longer valid): %w", connector.ErrAuth, err)
			}
		}
	}
	return tok, nil
}

// classifyTokenError turns a token-endpoint failure into a message a person can act on,
// without echoing the request (which carries the credentials).
func classifyTokenError(err error, m Method, account string, names func(string) string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		switch {
		case code == "invalid_grant":
			return fmt.Errorf("%w: NetSuite refused the refresh token for account %s (invalid_grant): it expired (confidential clients: 7 days) or was revoked; run the authorization code flow again and set %s", connector.ErrAuth, account, nameBy(names, "refresh_token"))
		case code == "invalid_client" || status == 401:
			return fmt.Errorf("%w: NetSuite refused the client credentials for account %s (%s): check %s and %s", connector.ErrAuth, account, orStatus(code, status), nameBy(names, "client_id"), nameBy(names, "client_secret"))
		case status == 429 || status >= 500:
			return fmt.Errorf("%w: token endpoint answered HTTP %d", connector.ErrTransient, status)
		default:
			return fmt.Errorf("%w: token request for account %s with %s failed: %s", connector.ErrAuth, account, m, orStatus(code, status))
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: token request: %w", connector.ErrInterrupted, err)
	}
	// Network failures reaching the token endpoint may pass.
	return fmt.Errorf("%w: token request: %s", connector.ErrTransient, scrub(err))
}

func orStatus(code string, status int) string {
	if code != "" {
		return code
	}
	return fmt.Sprintf("HTTP %d", status)
}

// scrub keeps an error's text but never a URL query (token URLs carry none, but be sure).
func scrub(err error) string {
	s := err.Error()
	if i := strings.Index(s, "?"); i >= 0 {
		s = s[:i]
	}
	return s
}

// bearerTransport sets "Authorization: Bearer" from a cached token, refreshing it shortly
// before expiry, and once more if NetSuite answers 401 (a token revoked or expired early).
type bearerTransport struct {
	base    http.RoundTripper
	fetch   func(context.Context) (*oauth2.Token, error)
	method  Method
	account string

	mu  sync.Mutex
	tok *oauth2.Token
}

// earlyExpiry refreshes a token this long before NetSuite's stated expiry.
const earlyExpiry = 30 * time.Second

func (t *bearerTransport) token(ctx context.Context, stale *oauth2.Token) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok != stale && (t.tok.Expiry.IsZero() || time.Until(t.tok.Expiry) > min(earlyExpiry, tokenLifetime(t.tok)/4)) {
		return t.tok, nil
	}
	tok, err := t.fetch(ctx)
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: token endpoint returned no access token", connector.ErrAuth)
	}
	t.tok = tok
	return tok, nil
}

// tokenLifetime estimates a token's full lifetime so that very short-lived tokens (tests,
// unusual accounts) are not treated as always about to expire.
func tokenLifetime(tok *oauth2.Token) time.Duration {
	if v, ok := tok.Extra("expires_in").(float64); ok && v > 0 {
		return time.Duration(v * float64(time.Second))
	}
	return time.Hour
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.token(req.Context(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(authorized(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // cannot replay the body; let the caller see the 401
	}
	resp.Body.Close()
	fresh, err := t.token(req.Context(), tok)
	if err != nil {
		return nil, err
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	resp, err = t.base.RoundTrip(authorized(retry, fresh))
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: NetSuite rejected a fresh %s access token for account %s twice (HTTP 401): check the integration record, the role's permissions and the Login Audit Trail", connector.ErrAuth, t.method, t.account)
	}
	return resp, err
}

// authorized returns a copy of req carrying tok; RoundTrippers must not modify their input.
func authorized(req *http.Request, tok *oauth2.Token) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return r
}
