package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/extract-dev/extract/connector"
)

// CodeFlow is the OAuth 2.0 authorization-code grant with PKCE (S256) that yields the first
// refresh token: the user opens AuthURL, approves, and pastes back the URL NetSuite
// redirected to. NetSuite refuses plain-http redirect URIs, so nothing listens locally.
type CodeFlow struct {
	conf     *oauth2.Config
	state    string
	verifier string
	account  string
}

// NewCodeFlow prepares a flow with a fresh state and PKCE verifier.
func NewCodeFlow(authorizeURL, tokenURL, clientID, clientSecret, redirectURI, scope, account string) (*CodeFlow, error) {
	ru, err := url.Parse(redirectURI)
	switch {
	case redirectURI == "":
		return nil, fmt.Errorf("%w: --redirect-uri is required: the redirect URI of the integration record", connector.ErrConfig)
	case err != nil || ru.Scheme == "" || strings.EqualFold(ru.Scheme, "http"):
		return nil, fmt.Errorf("%w: --redirect-uri %q must be https:// or a custom scheme (NetSuite refuses plain http)", connector.ErrConfig, redirectURI)
	case clientID == "" || clientSecret == "":
		return nil, fmt.Errorf("%w: NETSUITE_CLIENT_ID and NETSUITE_CLIENT_SECRET are required", connector.ErrConfig)
	}
	state := make([]byte, 32)
	if _, err := rand.Read(state); err != nil {
		return nil, err
	}
	return &CodeFlow{
		conf: &oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURI,
			Scopes:   strings.Fields(strings.ReplaceAll(scope, ",", " ")),
			Endpoint: oauth2.Endpoint{AuthURL: authorizeURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		},
		state:    base64.RawURLEncoding.EncodeToString(state), // 43 chars; NetSuite wants 22–1024
		verifier: oauth2.GenerateVerifier(),
		account:  account,
	}, nil
}

// AuthURL is the page the user opens to approve access.
func (f *CodeFlow) AuthURL() string {
	return f.conf.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier))
}

// Exchange checks the redirect the user pasted (state, errors) and trades its code for
// tokens, returning the refresh token.
func (f *CodeFlow) Exchange(ctx context.Context, redirected string, hc *http.Client) (string, error) {
	u, err := url.Parse(strings.TrimSpace(redirected))
	if err != nil || u.RawQuery == "" {
		return "", fmt.Errorf("%w: that is not the URL NetSuite redirected to (it should carry ?code=…&state=…)", connector.ErrConfig)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("%w: NetSuite refused the authorization: %s %s", connector.ErrAuth, e, q.Get("error_description"))
	}
	if q.Get("state") != f.state {
		return "", fmt.Errorf("%w: the redirect's state does not match this session; start again and paste the URL of this attempt", connector.ErrAuth)
	}
	code := q.Get("code")
	if code == "" {
		return "", fmt.Errorf("%w: the redirect carries no code", connector.ErrAuth)
	}
	if company := q.Get("company"); company != "" && f.account != "" && !strings.EqualFold(strings.ReplaceAll(company, "-", "_"), f.account) {
		return "", fmt.Errorf("%w: the authorization is for account %s, not NETSUITE_ACCOUNT_ID %s", connector.ErrConfig, company, f.account)
	}
	if hc != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	}
	tok, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return "", fmt.Errorf("%w: NetSuite refused the code (invalid_grant): it expired, was used already, or the redirect URI differs from the integration record's", connector.ErrAuth)
		}
		return "", classifyTokenError(err, OAuth2Refresh, f.account, nil)
	}
	if tok.RefreshToken == "" {
		return "", fmt.Errorf("%w: NetSuite returned no refresh token; tick Authorization Code Grant on the integration record", connector.ErrAuth)
	}
	return tok.RefreshToken, nil
}
