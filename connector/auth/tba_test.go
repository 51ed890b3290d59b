package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

// tbaCase is one known answer of testdata/auth/tba.json: the base string was derived by
// hand from RFC 5849 and the signature computed by openssl.
type tbaCase struct {
	Name           string `json:"name"`
	Method         string `json:"method"`
	URL            string `json:"url"`
	Realm          string `json:"realm"`
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret"`
	TokenID        string `json:"token_id"`
	TokenSecret    string `json:"token_secret"`
	Nonce          string `json:"nonce"`
	Timestamp      string `json:"timestamp"`
	SigningKey     string `json:"signing_key"`
	BaseString     string `json:"base_string"`
	Signature      string `json:"signature"`
	Authorization  string `json:"authorization"`
}

func tbaCases(t *testing.T) []tbaCase {
	var cases []tbaCase
	if err := json.Unmarshal(fixture(t, "tba.json"), &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no TBA fixtures")
	}
	return cases
}

// captureRT records requests and answers with the queued statuses (then 200).
type captureRT struct {
	mu       sync.Mutex
	statuses []int
	reqs     []*http.Request
	bodies   []string
}

func (c *captureRT) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, r)
	c.bodies = append(c.bodies, string(body))
	status := 200
	if len(c.statuses) > 0 {
		status, c.statuses = c.statuses[0], c.statuses[1:]
	}
	resp := `{"ok":true}`
	if status == 401 {
		resp = `{"type":"https://www.w3.org/Protocols/rfc9110.html#section-15.5.2","title":"Unauthorized","status":401,"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(resp)), Request: r}, nil
}

func tbaTestConfig(tc tbaCase) Config {
	return Config{Method: TBA, AccountID: tc.Realm, ConsumerKey: tc.ConsumerKey, ConsumerSecret: tc.ConsumerSecret,
		TokenID: tc.TokenID, TokenSecret: tc.TokenSecret}
}

func TestTBAKnownAnswers(t *testing.T) {
	for _, tc := range tbaCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			params := map[string]string{
				"realm": tc.Realm, "oauth_consumer_key": tc.ConsumerKey, "oauth_token": tc.TokenID, "oauth_nonce": tc.Nonce,
				"oauth_timestamp": tc.Timestamp, "oauth_signature_method": "HMAC-SHA256", "oauth_version": "1.0",
				"oauth_signature": "ignored",
			}
			base, err := SignatureBaseString(tc.Method, tc.URL, params)
			if err != nil {
				t.Fatal(err)
			}
			if base != tc.BaseString {
				t.Errorf("base string\n got %s\nwant %s", base, tc.BaseString)
			}
			if got := PercentEncode(tc.ConsumerSecret) + "&" + PercentEncode(tc.TokenSecret); got != tc.SigningKey {
				t.Errorf("signing key %q, want %q", got, tc.SigningKey)
			}
			if sig := Sign(tc.BaseString, tc.ConsumerSecret, tc.TokenSecret); sig != tc.Signature {
				t.Errorf("signature %s, want %s (openssl)", sig, tc.Signature)
			}

			// The transport, with the fixture's nonce and clock, sends exactly the header.
			ts, _ := strconv.ParseInt(tc.Timestamp, 10, 64)
			capture := &captureRT{}
			rt := newTBATransport(tbaTestConfig(tc), capture)
			rt.now = func() time.Time { return time.Unix(ts, 0) }
			rt.nonce = func() (string, error) { return tc.Nonce, nil }
			req, _ := http.NewRequest(tc.Method, tc.URL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := capture.reqs[0].Header.Get("Authorization"); got != tc.Authorization {
				t.Errorf("Authorization\n got %s\nwant %s", got, tc.Authorization)
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified")
			}
		})
	}
}

func TestPercentEncode(t *testing.T) {
	tests := map[string]string{
		"":                      "",
		"AZaz09-._~":            "AZaz09-._~",
		"a b":                   "a%20b",
		"+/=&?#%":               "%2B%2F%3D%26%3F%23%25",
		"!*'();:@$,[]":          "%21%2A%27%28%29%3B%3A%40%24%2C%5B%5D",
		"ü€":                    "%C3%BC%E2%82%AC",
		"\x00\x1f\x7f\xff":      "%00%1F%7F%FF",
		`"quoted" <tag>{x}|^\`:  "%22quoted%22%20%3Ctag%3E%7Bx%7D%7C%5E%5C",
		"already%20encoded%2F=": "already%2520encoded%252F%3D",
	}
	for in, want := range tests {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignatureBaseStringURI(t *testing.T) {
	oauth := map[string]string{"oauth_nonce": "n", "realm": "R", "oauth_signature": "S"}
	tests := []struct {
		method, url, want string
	}{
		{"post", "HTTPS://Acct.Example.COM:443/a/B?x=1#frag", "POST&https%3A%2F%2Facct.example.com%2Fa%2FB&oauth_nonce%3Dn%26x%3D1"},
		{"GET", "http://h:80/p", "GET&http%3A%2F%2Fh%2Fp&oauth_nonce%3Dn"},
		{"GET", "http://h:443/p", "GET&http%3A%2F%2Fh%3A443%2Fp&oauth_nonce%3Dn"},
		{"GET", "https://h:80/p", "GET&https%3A%2F%2Fh%3A80%2Fp&oauth_nonce%3Dn"},
		{"GET", "http://127.0.0.1:54321/services/rest/query/v1/suiteql?limit=5&offset=10", "GET&http%3A%2F%2F127.0.0.1%3A54321%2Fservices%2Frest%2Fquery%2Fv1%2Fsuiteql&limit%3D5%26oauth_nonce%3Dn%26offset%3D10"},
		{"GET", "https://user:pw@h", "GET&https%3A%2F%2Fh%2F&oauth_nonce%3Dn"},
		{"GET", "http://[::1]:8080/p", "GET&http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Fp&oauth_nonce%3Dn"},
		{"GET", "http://[::1]/p", "GET&http%3A%2F%2F%5B%3A%3A1%5D%2Fp&oauth_nonce%3Dn"},
		{"", "http://h/p?b=2&a=2&a=1&a=", "GET&http%3A%2F%2Fh%2Fp&a%3D%26a%3D1%26a%3D2%26b%3D2%26oauth_nonce%3Dn"},
		{"GET", "http://h/p?oauth_nonce=a", "GET&http%3A%2F%2Fh%2Fp&oauth_nonce%3Da%26oauth_nonce%3Dn"},
	}
	for _, tc := range tests {
		got, err := SignatureBaseString(tc.method, tc.url, oauth)
		if err != nil || got != tc.want {
			t.Errorf("SignatureBaseString(%q, %q)\n got %q %v\nwant %q", tc.method, tc.url, got, err, tc.want)
		}
	}
	for _, bad := range []string{"/relative/path", "http://h/p?a=%zz", "http://h/p?a=1;b=2", "://x", "http://%41/"} {
		if _, err := SignatureBaseString("GET", bad, oauth); err == nil {
			t.Errorf("SignatureBaseString(%q) succeeded, want an error", bad)
		}
	}
}

var nonceChars = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

func TestTBANoncesUnique(t *testing.T) {
	rt := newTBATransport(Config{Method: TBA, AccountID: "1234567_SB1", ConsumerKey: "ck", ConsumerSecret: "cs", TokenID: "tk", TokenSecret: "ts"}, nil)
	seen := map[string]bool{}
	req, _ := http.NewRequest(http.MethodPost, "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0", nil)
	for range 1000 {
		signed, err := rt.sign(req)
		if err != nil {
			t.Fatal(err)
		}
		p := headerParams(t, signed.Header.Get("Authorization"))
		n := p["oauth_nonce"]
		if !nonceChars.MatchString(n) {
			t.Fatalf("nonce %q: want 32 letters and digits", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
}

// headerParams parses an OAuth Authorization header (decoding values), asserting its form.
func headerParams(t *testing.T, h string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		t.Fatalf("header %q does not start with OAuth", h)
	}
	out := map[string]string{}
	var order []string
	for _, part := range strings.Split(rest, ", ") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			t.Fatalf("bad header part %q", part)
		}
		dec, err := url.PathUnescape(v[1 : len(v)-1])
		if err != nil {
			t.Fatal(err)
		}
		out[k] = dec
		order = append(order, k)
	}
	if want := "realm,oauth_consumer_key,oauth_token,oauth_signature_method,oauth_timestamp,oauth_nonce,oauth_version,oauth_signature"; strings.Join(order, ",") != want {
		t.Errorf("header parameters %v, want %s", order, want)
	}
	return out
}

func TestTBARetriesOnceWithFreshSignature(t *testing.T) {
	clk := &testClock{now: time.Unix(1737397800, 0)}
	capture := &captureRT{statuses: []int{401}}
	c := Config{Method: TBA, AccountID: "1234567_SB1", ConsumerKey: "ck", ConsumerSecret: "cs", TokenID: "tk", TokenSecret: "ts",
		Now: func() time.Time { clk.Advance(time.Second); return clk.Now() }}
	rt, err := NewTransport(c, capture)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"q":"SELECT id FROM customer"}`
	req, _ := http.NewRequest(http.MethodPost, "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0", bytes.NewReader([]byte(body)))
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("retry: %v %v", err, resp)
	}
	if len(capture.reqs) != 2 {
		t.Fatalf("attempts = %d, want 2", len(capture.reqs))
	}
	p1 := headerParams(t, capture.reqs[0].Header.Get("Authorization"))
	p2 := headerParams(t, capture.reqs[1].Header.Get("Authorization"))
	if p1["oauth_nonce"] == p2["oauth_nonce"] || p1["oauth_timestamp"] == p2["oauth_timestamp"] || p1["oauth_signature"] == p2["oauth_signature"] {
		t.Errorf("retry reused nonce/timestamp/signature: %v / %v", p1, p2)
	}
	for i, p := range []map[string]string{p1, p2} {
		if p["realm"] != "1234567_SB1" || p["oauth_signature_method"] != "HMAC-SHA256" || p["oauth_version"] != "1.0" ||
			p["oauth_consumer_key"] != "ck" || p["oauth_token"] != "tk" {
			t.Errorf("attempt %d header %v", i+1, p)
		}
		if _, ok := p["limit"]; ok {
			t.Errorf("attempt %d: query parameters in the header", i+1)
		}
		if capture.bodies[i] != body {
			t.Errorf("attempt %d body %q", i+1, capture.bodies[i])
		}
		// The signature covers limit and offset.
		oauth := map[string]string{}
		for k, v := range p {
			oauth[k] = v
		}
		base, _ := SignatureBaseString(http.MethodPost, capture.reqs[i].URL.String(), oauth)
		if !strings.Contains(base, "limit%3D1000") || !strings.Contains(base, "offset%3D0") || Sign(base, "cs", "ts") != p["oauth_signature"] {
			t.Errorf("attempt %d: signature does not cover the query", i+1)
		}
	}
}

func TestTBASecond401IsAuthError(t *testing.T) {
	capture := &captureRT{statuses: []int{401, 401}}
	c := Config{Method: TBA, AccountID: "1234567_SB1", ConsumerKey: "ck-public", ConsumerSecret: "consumer-secret-xyz", TokenID: "tk-public", TokenSecret: "token-secret-xyz"}
	rt, _ := NewTransport(c, capture)
	req, _ := http.NewRequest(http.MethodGet, "https://h/services/rest/system/v1/serverTime", nil)
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	for _, w := range []string{"tba", "1234567_SB1", "twice", "HTTP 401 INVALID_LOGIN", "NETSUITE_CONSUMER_SECRET", "Login Audit Trail", "InvalidTimestamp"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	assertNoSecrets(t, err, c.ConsumerSecret, c.TokenSecret)
	if len(capture.reqs) != 2 {
		t.Errorf("attempts = %d, want 2", len(capture.reqs))
	}
}

func TestTBABodyWithoutGetBodyIsNotReplayed(t *testing.T) {
	capture := &captureRT{statuses: []int{401}}
	rt, _ := NewTransport(Config{Method: TBA, AccountID: "A", ConsumerKey: "ck", ConsumerSecret: "cs", TokenID: "tk", TokenSecret: "ts"}, capture)
	req, _ := http.NewRequest(http.MethodPost, "https://h/p", io.NopCloser(strings.NewReader("x")))
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != 401 || len(capture.reqs) != 1 {
		t.Fatalf("got %v %v after %d attempts; want the 401 itself after 1", resp, err, len(capture.reqs))
	}
}

// TestTBAAgainstFake runs the client against netsuitetest, which recomputes every
// signature from the request it receives.
func TestTBAAgainstFake(t *testing.T) {
	const (
		ck, cs = "c0nsumer-key", "consumer+secret/ü"
		tk, ts = "t0ken-id", "token secret&="
	)
	clk := &testClock{now: time.Date(2025, 1, 20, 18, 30, 0, 0, time.UTC)}
	start := func(t *testing.T, o netsuitetest.Options) *netsuitetest.Server {
		o.AccountID, o.Now, o.Rows = "1234567_SB1", clk.Now, map[string]int{"customer": 5}
		if o.ConsumerKey == "" {
			o.ConsumerKey, o.ConsumerSecret, o.TokenID, o.TokenSecret = ck, cs, tk, ts
		}
		srv, err := netsuitetest.New(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		return srv
	}
	client := func(t *testing.T, srv *netsuitetest.Server, c Config) *connector.Client {
		rt, err := NewTransport(c, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := connector.NewClient(srv.URL(), &http.Client{Transport: rt}, connector.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	good := Config{Method: TBA, AccountID: "1234567_SB1", ConsumerKey: ck, ConsumerSecret: cs, TokenID: tk, TokenSecret: ts, Now: clk.Now}

	t.Run("accepted", func(t *testing.T) {
		srv := start(t, netsuitetest.Options{})
		cl := client(t, srv, good)
		ctx := context.Background()
		for i := range 5 {
			p, err := cl.SuiteQL(ctx, "SELECT id FROM customer", 1000, 0)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if len(p.Items) != 5 {
				t.Fatalf("%d items", len(p.Items))
			}
			if i == 2 {
				p, err = cl.SuiteQL(ctx, "SELECT id FROM customer", 2, 2) // other limit/offset
				if err != nil || len(p.Items) != 2 {
					t.Fatalf("limit 2 offset 2: %v", err)
				}
			}
			clk.Advance(90 * time.Second) // the server clock moves; the client's with it
		}
		if _, err := cl.ServerTime(ctx); err != nil { // GET without a query
			t.Fatal(err)
		}
		if trail := srv.LoginAuditTrail(); len(trail) != 0 {
			t.Errorf("refusals: %v", trail)
		}
	})

	refusals := []struct {
		name   string
		tbaOff bool // the account has token-based authentication off
		edit   func(*Config)
		reason string
	}{
		{"wrong consumer secret", false, func(c *Config) { c.ConsumerSecret = "wrong-consumer-secret" }, "InvalidSignature"},
		{"wrong token secret", false, func(c *Config) { c.TokenSecret = "wrong-token-secret" }, "InvalidSignature"},
		{"clock 6 minutes slow", false, func(c *Config) {
			c.Now = func() time.Time { return clk.Now().Add(-6 * time.Minute) }
		}, "InvalidTimestamp"},
		{"realm in lower case", false, func(c *Config) { c.AccountID = "1234567_sb1" }, "InvalidAccount"},
		{"realm with a hyphen", false, func(c *Config) { c.AccountID = "1234567-SB1" }, "InvalidAccount"},
		{"TBA not enabled", true, nil, "FeatureDisabled"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			var o netsuitetest.Options
			if tc.tbaOff {
				o.ConsumerKey = "only-a-key" // incomplete TBA settings leave it off
			}
			srv := start(t, o)
			c := good
			if tc.edit != nil {
				tc.edit(&c)
			}
			_, err := client(t, srv, c).SuiteQL(context.Background(), "SELECT id FROM customer", 1000, 0)
			if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "twice") {
				t.Fatalf("err = %v, want ErrAuth after the retry", err)
			}
			if trail := srv.LoginAuditTrail(); len(trail) != 2 || trail[0] != tc.reason || trail[1] != tc.reason {
				t.Errorf("audit trail %v, want %s twice", trail, tc.reason)
			}
			if n := srv.Stats().SuiteQLRequests["customer"]; n != 2 {
				t.Errorf("requests = %d, want 2 (one retry, no loop)", n)
			}
			assertNoSecrets(t, err, cs, ts, c.ConsumerSecret, c.TokenSecret)
		})
	}
}

func FuzzPercentEncode(f *testing.F) {
	for _, s := range []string{"", "abc", "a b+c", "ü€", "%", "%2", "\x00\xff", "~-._", "100%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := PercentEncode(s)
		for i := 0; i < len(out); i++ {
			c := out[i]
			switch {
			case isUnreserved(c):
			case c == '%' && i+2 < len(out) && isUpperHex(out[i+1]) && isUpperHex(out[i+2]):
				i += 2
			default:
				t.Fatalf("PercentEncode(%q) = %q: byte %d (%q) is neither unreserved nor %%XX", s, out, i, c)
			}
		}
		back, err := url.PathUnescape(out)
		if err != nil || back != s {
			t.Fatalf("PathUnescape(PercentEncode(%q)) = %q, %v", s, back, err)
		}
	})
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func FuzzSignatureBaseString(f *testing.F) {
	f.Add("POST", "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0", "oauth_nonce", "abc")
	f.Add("get", "http://[::1]:80/?a=b&a=%20", "realm", "X")
	f.Add("", "http://h/p?x=%zz", "oauth_signature", "s")
	f.Add("PATCH", "HTTP://User@H:0/%2F?;", "ü", "\x00")
	f.Fuzz(func(t *testing.T, method, rawURL, k, v string) {
		base, err := SignatureBaseString(method, rawURL, map[string]string{k: v, "oauth_version": "1.0"})
		if err != nil {
			return
		}
		for i := 0; i < len(base); i++ {
			if c := base[i]; !isUnreserved(c) && c != '%' && c != '&' {
				t.Fatalf("base string has a raw %q: %q", c, base)
			}
		}
		parts := strings.Split(base, "&")
		if len(parts) != 3 {
			t.Fatalf("base string has %d parts: %q", len(parts), base)
		}
		m := method
		if m == "" {
			m = http.MethodGet
		}
		if parts[0] != PercentEncode(strings.ToUpper(m)) {
			t.Fatalf("method part %q", parts[0])
		}
		if _, err := url.PathUnescape(parts[2]); err != nil {
			t.Fatalf("parameter part %q is not valid percent-encoding: %v", parts[2], err)
		}
		_ = Sign(base, k, v)
	})
}

func TestTBAUnsignableRequest(t *testing.T) {
	capture := &captureRT{}
	c := Config{Method: TBA, AccountID: "1234567_SB1", ConsumerKey: "ck", ConsumerSecret: "consumer-secret-xyz", TokenID: "tk", TokenSecret: "token-secret-xyz"}
	rt, _ := NewTransport(c, capture)
	req, _ := http.NewRequest(http.MethodGet, "https://h/p?a=1;b=2", nil)
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, connector.ErrConfig) || len(capture.reqs) != 0 {
		t.Fatalf("err = %v after %d attempts, want a configuration error before sending", err, len(capture.reqs))
	}
	assertNoSecrets(t, err, c.ConsumerSecret, c.TokenSecret)
}
