package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/extract-dev/extract/connector"
)

// Token-based authentication: OAuth 1.0a (RFC 5849) signatures with HMAC-SHA256, as
// NetSuite checks them (fact sheet §7). Every attempt is signed anew: NetSuite refuses a
// nonce+timestamp pair it has seen, and a retry long after the first try would fail the
// ±5 minute timestamp check.

const (
	tbaSignatureMethod = "HMAC-SHA256"
	tbaNonceLen        = 32 // NetSuite needs ≥ 6, recommends 20
)

// PercentEncode encodes s as RFC 5849 §3.6 (RFC 3986) requires: the unreserved characters
// A-Z a-z 0-9 - . _ ~ stay, every other byte of the UTF-8 text becomes %XX with upper-case
// hex digits (a space is %20, never +).
func PercentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; isUnreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0x0f])
		}
	}
	return string(b)
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// SignatureBaseString builds the RFC 5849 §3.4.1 base string of a request:
//
//	METHOD & enc(scheme://host[:port]/path) & enc(normalized parameters)
//
// Scheme and host are lower-cased, ports 80 (http) and 443 (https) dropped, the query left
// out of the URI. The normalized parameters are the URL query parameters (form-decoded,
// so limit and offset are signed) and oauthParams without realm and oauth_signature, each
// name and value percent-encoded, sorted by name then value, joined as name=value with &.
// A JSON body is not signed.
func SignatureBaseString(method, rawURL string, oauthParams map[string]string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("request URL cannot be signed: %w", err)
	}
	uri, err := baseStringURI(u)
	if err != nil {
		return "", err
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("request URL cannot be signed: query: %w", err)
	}
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range query {
		for _, v := range vs {
			pairs = append(pairs, pair{PercentEncode(k), PercentEncode(v)})
		}
	}
	for k, v := range oauthParams {
		if k == "realm" || k == "oauth_signature" {
			continue
		}
		pairs = append(pairs, pair{PercentEncode(k), PercentEncode(v)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var norm strings.Builder
	for i, p := range pairs {
		if i > 0 {
			norm.WriteByte('&')
		}
		norm.WriteString(p.k)
		norm.WriteByte('=')
		norm.WriteString(p.v)
	}
	if method == "" {
		method = http.MethodGet
	}
	return PercentEncode(strings.ToUpper(method)) + "&" + PercentEncode(uri) + "&" + PercentEncode(norm.String()), nil
}

// baseStringURI is RFC 5849 §3.4.1.2: scheme://host[:port]/path, no query or fragment.
func baseStringURI(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if scheme == "" || host == "" {
		return "", fmt.Errorf("request URL cannot be signed: it is not absolute")
	}
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// Sign is the RFC 5849 §3.4.2 HMAC signature with SHA-256:
// base64(HMAC-SHA256(enc(consumerSecret) & enc(tokenSecret), base)).
func Sign(base, consumerSecret, tokenSecret string) string {
	mac := hmac.New(sha256.New, []byte(PercentEncode(consumerSecret)+"&"+PercentEncode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// headerOrder is the order NetSuite's documentation writes the parameters in.
var headerOrder = []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp", "oauth_nonce", "oauth_version", "oauth_signature"}

// authorizationHeader renders `OAuth realm="…", oauth_consumer_key="…", …` with every
// value percent-encoded. Only oauth_* parameters go here: query parameters stay in the
// URL (NetSuite refuses limit/offset in the header).
func authorizationHeader(realm string, params map[string]string) string {
	var b strings.Builder
	b.WriteString(`OAuth realm="`)
	b.WriteString(PercentEncode(realm))
	b.WriteByte('"')
	for _, k := range headerOrder {
		v, ok := params[k]
		if !ok {
			continue
		}
		b.WriteString(", ")
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(PercentEncode(v))
		b.WriteByte('"')
	}
	return b.String()
}

// newNonce returns tbaNonceLen random letters and digits (crypto/rand, unbiased).
func newNonce() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, tbaNonceLen)
	var buf [64]byte
	for len(out) < tbaNonceLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, c := range buf {
			if c < 248 && len(out) < tbaNonceLen { // 248 = 4·62: no modulo bias
				out = append(out, alphabet[c%62])
			}
		}
	}
	return string(out), nil
}

// tbaTransport signs every request it sends.
type tbaTransport struct {
	base                                              http.RoundTripper
	account                                           string // realm: 1234567_SB1
	consumerKey, consumerSecret, tokenID, tokenSecret string
	now                                               func() time.Time
	nonce                                             func() (string, error)
	names                                             func(key string) string // Config.Names
}

func newTBATransport(c Config, base http.RoundTripper) *tbaTransport {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &tbaTransport{
		base: base, account: c.AccountID,
		consumerKey: c.ConsumerKey, consumerSecret: c.ConsumerSecret, tokenID: c.TokenID, tokenSecret: c.TokenSecret,
		now: now, nonce: newNonce, names: c.Names,
	}
}

// sign returns a copy of req with a freshly signed Authorization header.
func (t *tbaTransport) sign(req *http.Request) (*http.Request, error) {
	nonce, err := t.nonce()
	if err != nil {
		return nil, fmt.Errorf("%w: no randomness for the TBA nonce: %w", connector.ErrTransient, err)
	}
	params := map[string]string{
		"oauth_consumer_key":     t.consumerKey,
		"oauth_token":            t.tokenID,
		"oauth_signature_method": tbaSignatureMethod,
		"oauth_timestamp":        strconv.FormatInt(t.now().Unix(), 10),
		"oauth_nonce":            nonce,
		"oauth_version":          "1.0",
	}
	u := *req.URL
	if req.Host != "" {
		u.Host = req.Host // the Host header the server will see
	}
	base, err := SignatureBaseString(req.Method, u.String(), params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", connector.ErrConfig, req.Method, u.Redacted(), err)
	}
	params["oauth_signature"] = Sign(base, t.consumerSecret, t.tokenSecret)
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", authorizationHeader(t.account, params))
	return r, nil
}

func (t *tbaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	signed, err := t.sign(req)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(signed)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // cannot replay the body; let the caller see the 401
	}
	// NetSuite sometimes answers an overloaded moment with INVALID_LOGIN: one retry with
	// a new nonce and timestamp.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	if signed, err = t.sign(retry); err != nil {
		if retry.Body != nil {
			retry.Body.Close()
		}
		return nil, err
	}
	resp, err = t.base.RoundTrip(signed)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		code := errorCode(resp)
		resp.Body.Close()
		return nil, fmt.Errorf("%w: NetSuite rejected the token-based (%s) signature for account %s twice (HTTP 401%s): check %s/%s and %s/%s, that %s names this account (realm %s), the role's permissions, and the Login Audit Trail (InvalidSignature; InvalidTimestamp means this machine's clock is more than 5 minutes off)",
			connector.ErrAuth, TBA, t.account, code, nameBy(t.names, "consumer_key"), nameBy(t.names, "consumer_secret"),
			nameBy(t.names, "token_id"), nameBy(t.names, "token_secret"), nameBy(t.names, "account_id"), t.account)
	}
	return resp, err
}

// errorCode reads o:errorCode from a NetSuite error body (" INVALID_LOGIN"), or "".
func errorCode(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var v struct {
		Details []struct {
			Code string `json:"o:errorCode"`
		} `json:"o:errorDetails"`
	}
	if json.Unmarshal(b, &v) != nil || len(v.Details) == 0 {
		return ""
	}
	return " " + printable(v.Details[0].Code, 40)
}
