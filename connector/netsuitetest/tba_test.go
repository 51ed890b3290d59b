package netsuitetest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTBAFixtures: the verifier accepts the headers of testdata/auth/tba.json,
// whose signatures openssl computed over base strings derived by hand.
func TestTBAFixtures(t *testing.T) {
	var cases []struct {
		Name           string `json:"name"`
		Method         string `json:"method"`
		URL            string `json:"url"`
		Realm          string `json:"realm"`
		ConsumerKey    string `json:"consumer_key"`
		ConsumerSecret string `json:"consumer_secret"`
		TokenID        string `json:"token_id"`
		TokenSecret    string `json:"token_secret"`
		Timestamp      string `json:"timestamp"`
		Authorization  string `json:"authorization"`
	}
	if err := json.Unmarshal(authFixture(t, "tba.json"), &cases); err != nil || len(cases) == 0 {
		t.Fatalf("tba.json: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			ts, _ := strconv.ParseInt(tc.Timestamp, 10, 64)
			s := startServer(t, Options{AccountID: tc.Realm, ConsumerKey: tc.ConsumerKey, ConsumerSecret: tc.ConsumerSecret,
				TokenID: tc.TokenID, TokenSecret: tc.TokenSecret, Now: func() time.Time { return time.Unix(ts+200, 0) }})
			u, err := url.Parse(tc.URL)
			if err != nil {
				t.Fatal(err)
			}
			cred, ok := strings.CutPrefix(tc.Authorization, "OAuth ")
			if !ok {
				t.Fatalf("fixture header %q", tc.Authorization)
			}
			verify := func() error {
				return s.auth.verifyTBA(tc.Method, u.Scheme, u.Host, u.EscapedPath(), u.Query(), cred)
			}
			if err := verify(); err != nil {
				t.Fatalf("fixture refused: %v", err)
			}
			if err := verify(); err == nil || !strings.Contains(err.Error(), "NonceUsed") {
				t.Errorf("replayed fixture: %v, want NonceUsed", err)
			}
			// One changed input breaks the signature.
			q := u.Query()
			q.Set("extra", "1")
			if err := s.auth.verifyTBA(tc.Method, u.Scheme, u.Host, u.EscapedPath(), q, strings.Replace(cred, "oauth_nonce=\"", "oauth_nonce=\"x", 1)); err == nil || !strings.Contains(err.Error(), "InvalidSignature") {
				t.Errorf("extra query parameter: %v, want InvalidSignature", err)
			}
		})
	}
}

const (
	tbaCK, tbaCS = "ck-123", "consumer secret/+"
	tbaTK, tbaTS = "tk-456", "token&secret"
)

// tbaRequest is a SuiteQL request signed with the fake's own signature code
// (checked against openssl by TestTBAFixtures); p overrides header values.
type tbaRequest struct {
	cs, ts    string            // secrets used to sign
	params    map[string]string // header parameters (realm, oauth_*)
	extraHdr  string            // appended to the header verbatim
	signQuery bool              // include the URL query in the signature (NetSuite does)
	sha1      bool
}

func newTBARequest(now time.Time, nonce string) *tbaRequest {
	return &tbaRequest{cs: tbaCS, ts: tbaTS, signQuery: true, params: map[string]string{
		"realm": "1234567_SB1", "oauth_consumer_key": tbaCK, "oauth_token": tbaTK, "oauth_nonce": nonce,
		"oauth_timestamp": strconv.FormatInt(now.Unix(), 10), "oauth_signature_method": "HMAC-SHA256", "oauth_version": "1.0",
	}}
}

func (tr *tbaRequest) send(t *testing.T, s *Server) result {
	t.Helper()
	u, _ := url.Parse(s.URL() + suiteQLPath + "?limit=1000&offset=0")
	q := u.Query()
	if !tr.signQuery {
		q = url.Values{}
	}
	var sig []byte
	if tr.sha1 {
		sig = sha1Signature(http.MethodPost, "http", u.Host, u.Path, q, tr.params, tr.cs, tr.ts)
	} else {
		sig = tbaSignature(http.MethodPost, "http", u.Host, u.Path, q, tr.params, &tbaConfig{consumerSecret: tr.cs, tokenSecret: tr.ts})
	}
	var b strings.Builder
	fmt.Fprintf(&b, `OAuth realm="%s"`, oauthEscape(tr.params["realm"]))
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp", "oauth_signature_method", "oauth_version"} {
		if v, ok := tr.params[k]; ok {
			fmt.Fprintf(&b, `, %s="%s"`, k, oauthEscape(v))
		}
	}
	fmt.Fprintf(&b, `, oauth_signature="%s"%s`, oauthEscape(base64.StdEncoding.EncodeToString(sig)), tr.extraHdr)
	req, _ := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(`{"q":"SELECT SESSIONTIMEZONE FROM DUAL"}`))
	req.Header.Set("Authorization", b.String())
	req.Header.Set("Prefer", "transient")
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

// sha1Signature is the retired HMAC-SHA1 variant, for the refusal test.
func sha1Signature(method, scheme, host, path string, query url.Values, oauth map[string]string, cs, ts string) []byte {
	all := url.Values{}
	for k, vs := range query {
		all[k] = vs
	}
	for k, v := range oauth {
		if k != "realm" {
			all.Add(k, v)
		}
	}
	norm := strings.ReplaceAll(all.Encode(), "+", "%20") // sorted by key; one value each here
	base := method + "&" + oauthEscape(scheme+"://"+host+path) + "&" + oauthEscape(norm)
	mac := hmac.New(sha1.New, []byte(oauthEscape(cs)+"&"+oauthEscape(ts)))
	mac.Write([]byte(base))
	return mac.Sum(nil)
}

func TestTBAVerification(t *testing.T) {
	now := fixedNow
	start := func(t *testing.T) *Server {
		return startServer(t, Options{AccountID: "1234567_SB1", ConsumerKey: tbaCK, ConsumerSecret: tbaCS, TokenID: tbaTK, TokenSecret: tbaTS,
			Now: func() time.Time { return now }})
	}
	tests := []struct {
		name   string
		edit   func(*tbaRequest)
		reason string // "" = accepted
	}{
		{"valid", nil, ""},
		{"timestamp 299 s behind", func(r *tbaRequest) { r.params["oauth_timestamp"] = strconv.FormatInt(now.Unix()-299, 10) }, ""},
		{"timestamp 299 s ahead", func(r *tbaRequest) { r.params["oauth_timestamp"] = strconv.FormatInt(now.Unix()+299, 10) }, ""},
		{"6-character nonce", func(r *tbaRequest) { r.params["oauth_nonce"] = "abcdef" }, ""},
		{"wrong consumer secret", func(r *tbaRequest) { r.cs = "wrong" }, "InvalidSignature"},
		{"wrong token secret", func(r *tbaRequest) { r.ts = "wrong" }, "InvalidSignature"},
		{"query not signed", func(r *tbaRequest) { r.signQuery = false }, "InvalidSignature"},
		{"stale timestamp (301 s)", func(r *tbaRequest) { r.params["oauth_timestamp"] = strconv.FormatInt(now.Unix()-301, 10) }, "InvalidTimestamp"},
		{"future timestamp (301 s)", func(r *tbaRequest) { r.params["oauth_timestamp"] = strconv.FormatInt(now.Unix()+301, 10) }, "InvalidTimestamp"},
		{"timestamp in milliseconds", func(r *tbaRequest) { r.params["oauth_timestamp"] = strconv.FormatInt(now.UnixMilli(), 10) }, "InvalidTimestamp"},
		{"HMAC-SHA1", func(r *tbaRequest) { r.params["oauth_signature_method"] = "HMAC-SHA1"; r.sha1 = true }, "UnknownAlgorithm"},
		{"limit and offset in the header", func(r *tbaRequest) { r.extraHdr = `, limit="1000", offset="0"` }, "InvalidHeader: unexpected parameter limit in the header"},
		{"realm in lower case", func(r *tbaRequest) { r.params["realm"] = "1234567_sb1" }, "InvalidAccount"},
		{"realm as host id", func(r *tbaRequest) { r.params["realm"] = "1234567-sb1" }, "InvalidAccount"},
		{"no version", func(r *tbaRequest) { delete(r.params, "oauth_version") }, "InvalidVersion"},
		{"version 2.0", func(r *tbaRequest) { r.params["oauth_version"] = "2.0" }, "InvalidVersion"},
		{"short nonce", func(r *tbaRequest) { r.params["oauth_nonce"] = "abcde" }, "nonce_rejected"},
		{"unknown consumer key", func(r *tbaRequest) { r.params["oauth_consumer_key"] = "other" }, "consumer_key_unknown"},
		{"unknown token", func(r *tbaRequest) { r.params["oauth_token"] = "other" }, "token_rejected"},
		{"duplicate parameter", func(r *tbaRequest) { r.extraHdr = `, oauth_nonce="again"` }, "InvalidHeader: duplicate parameter oauth_nonce"},
		{"unquoted value", func(r *tbaRequest) { r.extraHdr = `, oauth_x=1` }, "InvalidHeader: unquoted value for oauth_x"},
		{"no timestamp", func(r *tbaRequest) { delete(r.params, "oauth_timestamp") }, "InvalidHeader: oauth_timestamp is missing"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			tr := newTBARequest(now, fmt.Sprintf("nonce-%04d-abcdefghij", i))
			if tc.edit != nil {
				tc.edit(tr)
			}
			r := tr.send(t, s)
			trail := s.LoginAuditTrail()
			if tc.reason == "" {
				if r.status != 200 || len(trail) != 0 {
					t.Fatalf("refused: %d %s %v", r.status, r.raw, trail)
				}
				return
			}
			if r.status != 401 || r.err.code() != "INVALID_LOGIN" || r.err.detail() != invalidLogin {
				t.Errorf("got %d %s, want 401 INVALID_LOGIN", r.status, r.raw)
			}
			if len(trail) != 1 || trail[0] != tc.reason {
				t.Errorf("audit trail %v, want [%s]", trail, tc.reason)
			}
		})
	}

	t.Run("reused nonce", func(t *testing.T) {
		s := start(t)
		tr := newTBARequest(now, "the-same-nonce-every-time")
		if r := tr.send(t, s); r.status != 200 {
			t.Fatalf("first: %d %s", r.status, r.raw)
		}
		tr.params["oauth_timestamp"] = strconv.FormatInt(now.Unix()+1, 10) // new timestamp, same nonce
		if r := tr.send(t, s); r.status != 401 {
			t.Fatalf("reused nonce accepted: %d", r.status)
		}
		if trail := s.LoginAuditTrail(); len(trail) != 1 || trail[0] != "NonceUsed" {
			t.Errorf("audit trail %v", trail)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		s := startServer(t, Options{AccountID: "1234567_SB1"})
		if r := newTBARequest(now, "abcdefghijklmnopqrst").send(t, s); r.status != 401 {
			t.Fatalf("TBA accepted on an account without it: %d", r.status)
		}
		if trail := s.LoginAuditTrail(); len(trail) != 1 || trail[0] != "FeatureDisabled" {
			t.Errorf("audit trail %v", trail)
		}
	})
}

func TestOAuthEscape(t *testing.T) {
	for in, want := range map[string]string{
		"AZaz09-._~": "AZaz09-._~", "a b": "a%20b", "a+b": "a%2Bb", "*!'()": "%2A%21%27%28%29", "ü": "%C3%BC", "=&%/": "%3D%26%25%2F",
	} {
		if got := oauthEscape(in); got != want {
			t.Errorf("oauthEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
