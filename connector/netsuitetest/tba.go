package netsuitetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Token-based authentication (OAuth 1.0a, RFC 5849, HMAC-SHA256) as
// NetSuite checks it: the signature is recomputed from the request as
// received. Refusals are recorded with the reason NetSuite's Login Audit
// Trail would show; the client only ever sees 401 INVALID_LOGIN.

type tbaConfig struct {
	consumerKey, consumerSecret, tokenID, tokenSecret string
}

func newTBAConfig(o Options) *tbaConfig {
	if o.ConsumerKey == "" || o.ConsumerSecret == "" || o.TokenID == "" || o.TokenSecret == "" {
		return nil
	}
	return &tbaConfig{o.ConsumerKey, o.ConsumerSecret, o.TokenID, o.TokenSecret}
}

// maxClockSkew is NetSuite's ±5 minute timestamp window.
const maxClockSkew = 300

// tbaError is a refusal with its Login Audit Trail reason.
type tbaError struct{ reason string }

func (e *tbaError) Error() string { return "invalid login attempt: " + e.reason }

func refuse(reason string) error { return &tbaError{reason} }

// checkTBA verifies the credentials of an "Authorization: OAuth ..." header.
func (a *authState) checkTBA(r *http.Request, cred string) error {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	err := a.verifyTBA(r.Method, scheme, r.Host, r.URL.EscapedPath(), r.URL.Query(), cred)
	var te *tbaError
	if errors.As(err, &te) {
		a.mu.Lock()
		a.audit = append(a.audit, te.reason)
		a.mu.Unlock()
	}
	if err != nil {
		return errUnauthenticated
	}
	return nil
}

// verifyTBA checks the header parameters cred (the part after "OAuth ") of a
// request to scheme://host+path with the given query parameters.
func (a *authState) verifyTBA(method, scheme, host, path string, query url.Values, cred string) error {
	if a.tba == nil {
		return refuse("FeatureDisabled")
	}
	params, err := parseOAuthParams(cred)
	if err != nil {
		return refuse("InvalidHeader: " + err.Error())
	}
	switch {
	case params["realm"] != a.account:
		return refuse("InvalidAccount") // realm is the account ID, upper case with "_"
	case params["oauth_signature_method"] != "HMAC-SHA256":
		return refuse("UnknownAlgorithm")
	case params["oauth_version"] != "1.0":
		return refuse("InvalidVersion")
	case subtle.ConstantTimeCompare([]byte(params["oauth_consumer_key"]), []byte(a.tba.consumerKey)) != 1:
		return refuse("consumer_key_unknown")
	case subtle.ConstantTimeCompare([]byte(params["oauth_token"]), []byte(a.tba.tokenID)) != 1:
		return refuse("token_rejected")
	case len(params["oauth_nonce"]) < 6:
		return refuse("nonce_rejected")
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	if now := a.now().Unix(); err != nil || ts < now-maxClockSkew || ts > now+maxClockSkew {
		return refuse("InvalidTimestamp")
	}
	got, err := base64.StdEncoding.DecodeString(params["oauth_signature"])
	if err != nil {
		return refuse("InvalidSignature")
	}
	if !hmac.Equal(got, tbaSignature(method, scheme, host, path, query, params, a.tba)) {
		return refuse("InvalidSignature")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nonces[params["oauth_nonce"]] {
		return refuse("NonceUsed")
	}
	a.nonces[params["oauth_nonce"]] = true
	return nil
}

// parseOAuthParams reads `realm="…", oauth_x="…", …`, percent-decoding each
// value. Only realm and oauth_* parameters may appear: NetSuite refuses query
// parameters such as limit and offset in the header.
func parseOAuthParams(s string) (map[string]string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, errors.New("parameter without a value")
		}
		name := strings.TrimSpace(s[:eq])
		s = s[eq+1:]
		if !strings.HasPrefix(s, `"`) {
			return nil, errors.New("unquoted value for " + name)
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return nil, errors.New("unterminated value for " + name)
		}
		raw := s[1 : 1+end]
		s = s[end+2:]
		if name != "realm" && !strings.HasPrefix(name, "oauth_") {
			return nil, errors.New("unexpected parameter " + name + " in the header")
		}
		if _, dup := out[name]; dup {
			return nil, errors.New("duplicate parameter " + name)
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, errors.New("bad percent-encoding in " + name)
		}
		out[name] = v
	}
	for _, k := range []string{"realm", "oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp", "oauth_signature_method", "oauth_signature"} {
		if _, ok := out[k]; !ok {
			return nil, errors.New(k + " is missing")
		}
	}
	return out, nil
}

// oauthEscape is RFC 3986 percent-encoding: QueryEscape leaves exactly the
// unreserved characters alone except that it writes a space as "+" (a real
// "+" comes out as %2B, so the replacement is safe).
func oauthEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// tbaSignature recomputes the HMAC-SHA256 signature of RFC 5849 §3.4.
func tbaSignature(method, scheme, host, path string, query url.Values, oauth map[string]string, c *tbaConfig) []byte {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	if path == "" {
		path = "/"
	}
	var pairs [][2]string
	for k, vs := range query {
		for _, v := range vs {
			pairs = append(pairs, [2]string{oauthEscape(k), oauthEscape(v)})
		}
	}
	for k, v := range oauth {
		if k != "realm" && k != "oauth_signature" {
			pairs = append(pairs, [2]string{oauthEscape(k), oauthEscape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	joined := make([]string, len(pairs))
	for i, p := range pairs {
		joined[i] = p[0] + "=" + p[1]
	}
	base := oauthEscape(strings.ToUpper(method)) + "&" +
		oauthEscape(scheme+"://"+host+path) + "&" +
		oauthEscape(strings.Join(joined, "&"))
	mac := hmac.New(sha256.New, []byte(oauthEscape(c.consumerSecret)+"&"+oauthEscape(c.tokenSecret)))
	mac.Write([]byte(base))
	return mac.Sum(nil)
}

// LoginAuditTrail returns the reason for each refused token-based request,
// oldest first. Reasons NetSuite documents keep its names (InvalidSignature,
// InvalidTimestamp, NonceUsed, nonce_rejected, UnknownAlgorithm,
// consumer_key_unknown, token_rejected, FeatureDisabled); the fake's own
// finer checks use names of its own (InvalidAccount for a realm that is not
// the account ID, InvalidVersion, InvalidHeader: ...).
func (s *Server) LoginAuditTrail() []string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return slices.Clone(s.auth.audit)
}
