package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/extract-dev/extract/connector"
)

// OAuth 2.0 client credentials (machine to machine): every token request carries a
// fresh JWT client assertion signed with the private key whose certificate is mapped in
// NetSuite (fact sheet §6). There is no refresh token: when the access token expires,
// sign a new assertion.

const (
	jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	defaultScope       = "rest_webservices"
	// assertionLifetime keeps exp a little under NetSuite's limit ("less than 60 minutes
	// greater than iat"); the assertion is used at once, so the margin costs nothing.
	assertionLifetime = time.Hour - time.Minute
	minRSABits        = 2048 // NetSuite asks for 3072 or 4096; 2048 still signs valid PSS
	maxTokenBody      = 1 << 20
)

// m2mSource mints an assertion and exchanges it for an access token.
type m2mSource struct {
	clientID, certID, tokenURL, account string
	scopes                              []string
	method                              jwt.SigningMethod
	key                                 any // *rsa.PrivateKey or *ecdsa.PrivateKey
	client                              *http.Client
	now                                 func() time.Time
	names                               func(key string) string // Config.Names
}

func newM2MSource(c Config, client *http.Client) (*m2mSource, error) {
	key, err := parsePrivateKey(c.PrivateKeyPEM, c.PrivateKeySource)
	if err != nil {
		return nil, err
	}
	method, err := signingMethod(key, c.Algorithm, c.name("jwt_algorithm"))
	if err != nil {
		return nil, err
	}
	scopes := splitScope(c.Scope)
	if len(scopes) == 0 {
		scopes = []string{defaultScope}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &m2mSource{
		clientID: c.ClientID, certID: c.CertificateID, tokenURL: c.TokenURL, account: c.AccountID,
		scopes: scopes, method: method, key: key, client: client, now: now, names: c.Names,
	}, nil
}

// splitScope accepts "rest_webservices,restlets" as well as "rest_webservices restlets".
func splitScope(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// keySource names where the key came from without ever quoting it.
func keySource(source string) string {
	if strings.TrimSpace(source) == "" {
		return "the M2M private key"
	}
	return source
}

// parsePrivateKey reads the first private key in pemBytes: PKCS#1 or PKCS#8 RSA, SEC1 or
// PKCS#8 EC. Error messages name the source and the PEM block type, never key material.
func parsePrivateKey(pemBytes []byte, source string) (any, error) {
	src := keySource(source)
	rest := pemBytes
	if !strings.Contains(string(rest), "\n-----END") && strings.Contains(string(rest), `\n`) {
		// A key pasted into an environment variable with literal "\n" escapes.
		rest = []byte(strings.ReplaceAll(string(rest), `\n`, "\n"))
	}
	var other string // the first non-key block seen, for the error message
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if procType := block.Headers["Proc-Type"]; strings.Contains(procType, "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: %s is an encrypted private key, which is not supported: decrypt it with `openssl pkey -in key.pem -out plain.pem` and keep the result as secret as the original", connector.ErrConfig, src)
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: the RSA PRIVATE KEY block is not a valid PKCS#1 key", connector.ErrConfig, src)
			}
			return checkKey(k, src)
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: the EC PRIVATE KEY block is not a valid SEC 1 key (or its curve is not P-256, P-384 or P-521)", connector.ErrConfig, src)
			}
			return checkKey(k, src)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: the PRIVATE KEY block is not a valid PKCS#8 key", connector.ErrConfig, src)
			}
			return checkKey(k, src)
		case "EC PARAMETERS":
			continue // `openssl ecparam -genkey` writes these before the key
		default:
			if other == "" {
				other = block.Type
			}
		}
	}
	switch {
	case other == "CERTIFICATE" || strings.HasSuffix(other, "PUBLIC KEY"):
		return nil, fmt.Errorf("%w: %s holds a %s, not a private key: NetSuite keeps the certificate (the public part); the connector needs the matching private key", connector.ErrConfig, src, other)
	case other != "":
		return nil, fmt.Errorf("%w: %s holds a PEM %q block, not a private key (want RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)", connector.ErrConfig, src, other)
	default:
		return nil, fmt.Errorf("%w: %s is not a PEM private key (no -----BEGIN ... PRIVATE KEY----- block found)", connector.ErrConfig, src)
	}
}

func checkKey(k any, src string) (any, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("%w: %s is a %d-bit RSA key: NetSuite wants RSA 3072 or 4096 bits (or EC P-256/P-384/P-521)", connector.ErrConfig, src, bits)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, fmt.Errorf("%w: %s is an EC key on curve %s: NetSuite accepts P-256, P-384 and P-521", connector.ErrConfig, src, k.Curve.Params().Name)
	default:
		return nil, fmt.Errorf("%w: %s is a %T key: NetSuite accepts RSA (PS256/PS384/PS512) and EC (ES256/ES384/ES512) keys", connector.ErrConfig, src, k)
	}
}

// ecAlgorithm is the JWS algorithm whose curve matches the key (RFC 7518 §3.4).
var ecAlgorithm = map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}

// signingMethod picks the JWT algorithm: the requested one if it suits the key, else the
// default for the key (PS256 for RSA, ES256/ES384/ES512 by curve).
func signingMethod(key any, requested, setting string) (jwt.SigningMethod, error) {
	alg := strings.ToUpper(strings.TrimSpace(requested))
	var want string
	switch k := key.(type) {
	case *rsa.PrivateKey:
		want = "PS256"
	case *ecdsa.PrivateKey:
		want = ecAlgorithm[k.Curve.Params().Name]
	}
	if alg == "" {
		alg = want
	}
	switch alg {
	case "PS256", "PS384", "PS512":
		if _, ok := key.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("%w: %s=%s needs an RSA key but the key is EC; use %s or leave %[2]s empty", connector.ErrConfig, setting, alg, want)
		}
	case "ES256", "ES384", "ES512":
		if alg != want {
			if _, ok := key.(*rsa.PrivateKey); ok {
				return nil, fmt.Errorf("%w: %s=%s needs an EC key but the key is RSA; use PS256, PS384 or PS512, or leave %[2]s empty", connector.ErrConfig, setting, alg)
			}
			return nil, fmt.Errorf("%w: %s=%s does not match the key's curve (%s signs with %s); leave %[2]s empty to choose it from the key", connector.ErrConfig, setting, alg, key.(*ecdsa.PrivateKey).Curve.Params().Name, want)
		}
	case "RS256", "RS384", "RS512":
		return nil, fmt.Errorf("%w: %s=%s: NetSuite no longer accepts RS256-style signatures (RSA PKCS#1 v1.5) for client credentials; use PS256 with the same RSA key", connector.ErrConfig, setting, alg)
	default:
		return nil, fmt.Errorf("%w: %s=%q is not an algorithm NetSuite accepts (PS256, PS384, PS512, ES256, ES384, ES512); RS256 (RSA PKCS#1 v1.5) is no longer accepted, use PS256", connector.ErrConfig, setting, requested)
	}
	return jwt.GetSigningMethod(alg), nil
}

// assertion signs a new client assertion: a fresh iat, exp and jti every time.
func (s *m2mSource) assertion() (string, error) {
	now := s.now().Truncate(time.Second)
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{
		"iss": s.clientID,
		// Oracle's text says "separated by a comma" but its own sample assertion sends
		// an array of strings, as do most public clients; an array is what we send.
		"scope": s.scopes,
		"aud":   s.tokenURL,
		"iat":   now.Unix(),
		"exp":   now.Add(assertionLifetime).Unix(),
		"jti":   jti,
	}
	tok := jwt.NewWithClaims(s.method, claims)
	tok.Header["kid"] = s.certID
	tok.Header["typ"] = "JWT"
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("%w: signing the client assertion with %s failed: %s", connector.ErrConfig, s.method.Alg(), err)
	}
	return signed, nil
}

// newJTI is 128 random bits in the UUID textual layout (version 4, RFC 9562).
func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("%w: no randomness for the assertion id: %w", connector.ErrTransient, err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// token runs one client_credentials request. It is the fetch of a bearerTransport,
// which serialises calls, caches the token and refreshes it early or on a 401.
func (s *m2mSource) token(ctx context.Context) (*oauth2.Token, error) {
	assertion, err := s.assertion()
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {jwtBearerAssertion},
		"client_assertion":      {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: NETSUITE_TOKEN_URL is not a usable URL", connector.ErrConfig)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, classifyTokenError(unwrapURLError(err), OAuth2M2M, s.account, nil)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the token response: %s", connector.ErrTransient, scrub(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, s.tokenError(resp.StatusCode, body)
	}
	return parseTokenResponse(body)
}

// unwrapURLError drops *url.Error's "Post <url>:" prefix; the URL is the token endpoint
// (no secrets), but the bare cause reads better and keeps scrub simple.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tokenError explains a refused client_credentials request.
func (s *m2mSource) tokenError(status int, body []byte) error {
	var e struct {
		Code string `json:"error"`
		Desc string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	what := orStatus(e.Code, status)
	if d := printable(e.Desc, 200); d != "" {
		what += ": " + d
	}
	checks := "check that " + nameBy(s.names, "client_id") + " is the integration record's client ID (the application ID is the most common mistake), " +
		"that " + nameBy(s.names, "certificate_id") + " is the certificate ID shown at Setup > Integration > Manage Authentication > OAuth 2.0 Client Credentials (M2M) Setup " +
		"for this integration, entity and role, that the mapping is not revoked and the certificate has not expired (NetSuite keeps them at most 2 years), " +
		"and that the private key belongs to that certificate"
	switch e.Code {
	case "invalid_client", "invalid_grant", "server_error":
		return fmt.Errorf("%w: NetSuite refused the client-credentials assertion for account %s (%s): %s", connector.ErrAuth, s.account, what, checks)
	case "unauthorized_client":
		return fmt.Errorf("%w: NetSuite does not allow the client-credentials grant for this client in account %s (%s): tick \"Client Credentials (Machine to Machine) Grant\" on the integration record and map a certificate to it; %s", connector.ErrAuth, s.account, what, checks)
	case "invalid_scope":
		return fmt.Errorf("%w: NetSuite refused the scope %q for account %s (%s): enable REST Web Services on the integration record or fix %s", connector.ErrAuth, strings.Join(s.scopes, ","), s.account, what, nameBy(s.names, "scope"))
	}
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		return fmt.Errorf("%w: token endpoint answered HTTP %d (%s)", connector.ErrTransient, status, what)
	case status == http.StatusUnauthorized:
		return fmt.Errorf("%w: NetSuite refused the client-credentials assertion for account %s (%s): %s", connector.ErrAuth, s.account, what, checks)
	default:
		return fmt.Errorf("%w: client-credentials token request for account %s failed (%s)", connector.ErrAuth, s.account, what)
	}
}

// printable keeps a server-supplied description short and free of control characters.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// parseTokenResponse reads {"access_token","expires_in","token_type":"Bearer"}.
func parseTokenResponse(body []byte) (*oauth2.Token, error) {
	var v struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("%w: the token endpoint answered with something that is not a token response", connector.ErrTransient)
	}
	if v.AccessToken == "" {
		return nil, fmt.Errorf("%w: token endpoint returned no access token", connector.ErrAuth)
	}
	if v.TokenType != "" && !strings.EqualFold(v.TokenType, "bearer") {
		return nil, fmt.Errorf("%w: token endpoint returned token_type %q, want Bearer", connector.ErrAuth, printable(v.TokenType, 40))
	}
	secs := 3600.0 // NetSuite's documented lifetime, if expires_in is missing
	if raw := strings.Trim(string(v.ExpiresIn), `"`); raw != "" && raw != "null" {
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || f <= 0 {
			return nil, fmt.Errorf("%w: token endpoint returned expires_in %q", connector.ErrAuth, printable(raw, 40))
		}
		secs = f
	}
	tok := &oauth2.Token{
		AccessToken: v.AccessToken,
		TokenType:   "Bearer",
		// The bearer cache compares with the wall clock (time.Until), so Expiry does too.
		Expiry: time.Now().Add(time.Duration(secs * float64(time.Second))),
	}
	return tok.WithExtra(map[string]any{"expires_in": secs}), nil
}
