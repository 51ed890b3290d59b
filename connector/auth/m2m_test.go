package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

func m2mConfig(key []byte, alg string) Config {
	return Config{
		Method: OAuth2M2M, AccountID: "1234567_SB1", TokenURL: "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
		ClientID: "m2m-client", ClientSecret: "client-secret-never-shown", CertificateID: "cert-1",
		PrivateKeyPEM: key, PrivateKeySource: "NETSUITE_PRIVATE_KEY_FILE /keys/netsuite.pem", Algorithm: alg,
	}
}

func TestPrivateKeyAndAlgorithm(t *testing.T) {
	escaped := strings.ReplaceAll(strings.TrimSpace(string(fixture(t, "ec256-sec1.pem"))), "\n", `\n`)
	tests := []struct {
		name     string
		key      []byte
		alg      string
		wantAlg  string
		wantErrs []string // all must appear in the error
	}{
		{name: "PKCS#1 RSA", key: fixture(t, "rsa3072-pkcs1.pem"), wantAlg: "PS256"},
		{name: "PKCS#8 RSA", key: fixture(t, "rsa3072-pkcs8.pem"), wantAlg: "PS256"},
		{name: "SEC1 EC P-256", key: fixture(t, "ec256-sec1.pem"), wantAlg: "ES256"},
		{name: "PKCS#8 EC P-256", key: fixture(t, "ec256-pkcs8.pem"), wantAlg: "ES256"},
		{name: "P-384 defaults to ES384", key: fixture(t, "ec384-pkcs8.pem"), wantAlg: "ES384"},
		{name: "explicit PS384, any case", key: fixture(t, "rsa3072-pkcs8.pem"), alg: " ps384 ", wantAlg: "PS384"},
		{name: "explicit PS512", key: fixture(t, "rsa3072-pkcs1.pem"), alg: "PS512", wantAlg: "PS512"},
		{name: "explicit ES256 on P-256", key: fixture(t, "ec256-pkcs8.pem"), alg: "ES256", wantAlg: "ES256"},
		{name: "key with literal \\n escapes", key: []byte(escaped), wantAlg: "ES256"},
		{name: "EC PARAMETERS block first", key: append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), fixture(t, "ec256-sec1.pem")...), wantAlg: "ES256"},

		{name: "encrypted PKCS#8", key: fixture(t, "rsa3072-pkcs8-encrypted.pem"),
			wantErrs: []string{"encrypted", "not supported", "openssl pkey -in key.pem -out plain.pem", "NETSUITE_PRIVATE_KEY_FILE /keys/netsuite.pem"}},
		{name: "encrypted PKCS#1 (Proc-Type)", key: fixture(t, "rsa3072-pkcs1-encrypted.pem"),
			wantErrs: []string{"encrypted", "openssl pkey -in key.pem -out plain.pem", "NETSUITE_PRIVATE_KEY_FILE /keys/netsuite.pem"}},
		{name: "certificate instead of key", key: fixture(t, "rsa3072-cert.pem"),
			wantErrs: []string{"CERTIFICATE", "not a private key", "NETSUITE_PRIVATE_KEY_FILE /keys/netsuite.pem"}},
		{name: "public key instead of key", key: fixture(t, "rsa3072-pub.pem"),
			wantErrs: []string{"PUBLIC KEY", "not a private key"}},
		{name: "garbage", key: []byte("not a key at all\n"),
			wantErrs: []string{"not a PEM private key", "NETSUITE_PRIVATE_KEY_FILE /keys/netsuite.pem"}},
		{name: "corrupt PKCS#8 body", key: []byte("-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n"),
			wantErrs: []string{"not a valid PKCS#8 key"}},
		{name: "other PEM block", key: []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
			wantErrs: []string{`"CERTIFICATE REQUEST"`}},
		{name: "RSA 1024 too small", key: fixture(t, "rsa1024-pkcs8.pem"), wantErrs: []string{"1024-bit", "3072 or 4096"}},
		{name: "RS256 requested", key: fixture(t, "rsa3072-pkcs8.pem"), alg: "RS256",
			wantErrs: []string{"NETSUITE_JWT_ALGORITHM=RS256", "no longer accepts", "PKCS#1 v1.5", "use PS256"}},
		{name: "HS256 requested", key: fixture(t, "rsa3072-pkcs8.pem"), alg: "HS256",
			wantErrs: []string{"NETSUITE_JWT_ALGORITHM", "PS256, PS384, PS512, ES256, ES384, ES512", "RS256"}},
		{name: "ES256 with an RSA key", key: fixture(t, "rsa3072-pkcs1.pem"), alg: "ES256",
			wantErrs: []string{"NETSUITE_JWT_ALGORITHM=ES256", "needs an EC key"}},
		{name: "PS256 with an EC key", key: fixture(t, "ec256-pkcs8.pem"), alg: "PS256",
			wantErrs: []string{"NETSUITE_JWT_ALGORITHM=PS256", "needs an RSA key", "use ES256"}},
		{name: "ES256 with a P-384 key", key: fixture(t, "ec384-pkcs8.pem"), alg: "ES256",
			wantErrs: []string{"NETSUITE_JWT_ALGORITHM=ES256", "P-384 signs with ES384"}},
		{name: "ES512 with a P-256 key", key: fixture(t, "ec256-sec1.pem"), alg: "ES512",
			wantErrs: []string{"NETSUITE_JWT_ALGORITHM=ES512", "P-256 signs with ES256"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := m2mConfig(tc.key, tc.alg)
			rt, err := NewTransport(c, http.DefaultTransport)
			if tc.wantErrs != nil {
				if !errors.Is(err, connector.ErrConfig) {
					t.Fatalf("err = %v, want a configuration error", err)
				}
				for _, w := range tc.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				assertNoSecrets(t, err, append(secretLines(tc.key), c.ClientSecret)...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			src, err := newM2MSource(c, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.method.Alg(); got != tc.wantAlg {
				t.Errorf("alg = %s, want %s", got, tc.wantAlg)
			}
			if _, ok := rt.(*bearerTransport); !ok {
				t.Errorf("transport is %T, want *bearerTransport", rt)
			}
		})
	}
}

// jws splits a compact JWS and decodes its header and claims.
func jws(t *testing.T, token string) (header, claims map[string]any, input, sig []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("segment not base64url: %v", err)
		}
		return b
	}
	if err := json.Unmarshal(dec(parts[0]), &header); err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(string(dec(parts[1]))))
	d.UseNumber()
	if err := d.Decode(&claims); err != nil {
		t.Fatal(err)
	}
	return header, claims, []byte(parts[0] + "." + parts[1]), dec(parts[2])
}

func publicKey(t *testing.T, name string) crypto.PublicKey {
	t.Helper()
	block, _ := pem.Decode(fixture(t, name))
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verifyStdlib checks a JWS signature with crypto/rsa and crypto/ecdsa directly (not
// golang-jwt, which signed it), against the openssl-extracted public key.
func verifyStdlib(t *testing.T, alg string, pub crypto.PublicKey, input, sig []byte) {
	t.Helper()
	h := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[alg[2:]]
	hh := h.New()
	hh.Write(input)
	digest := hh.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
			t.Errorf("%s signature does not verify with the openssl public key (PSS, salt = hash length): %v", alg, err)
		}
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			t.Fatalf("%s signature is %d bytes, want r||s = %d", alg, len(sig), 2*n)
		}
		if !ecdsa.Verify(k, digest, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
			t.Errorf("%s signature does not verify with the openssl public key", alg)
		}
	}
}

// verifyOpenSSL has openssl itself verify the signature, when it is installed.
func verifyOpenSSL(t *testing.T, alg, pubFile string, input, sig []byte) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: skipping the external verification")
		return
	}
	dir := t.TempDir()
	args := []string{"dgst", "-sha" + alg[2:]}
	if strings.HasPrefix(alg, "PS") {
		args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1") // -1: salt = digest length
	} else {
		n := len(sig) / 2 // JOSE r||s to the DER openssl expects
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])})
		if err != nil {
			t.Fatal(err)
		}
		sig = der
	}
	in, sf := filepath.Join(dir, "input"), filepath.Join(dir, "sig")
	if err := os.WriteFile(in, input, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sf, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, "-verify", filepath.Join(fixtureDir, pubFile), "-signature", sf, in)
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Errorf("openssl %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAssertionContents(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		key, pub, alg, scope string
		wantScope            []any
	}{
		{"rsa3072-pkcs1.pem", "rsa3072-pub.pem", "", "", []any{"rest_webservices"}},
		{"rsa3072-pkcs8.pem", "rsa3072-pub.pem", "PS384", "rest_webservices,restlets", []any{"rest_webservices", "restlets"}},
		{"rsa3072-pkcs8.pem", "rsa3072-pub.pem", "PS512", "rest_webservices restlets suite_analytics", []any{"rest_webservices", "restlets", "suite_analytics"}},
		{"ec256-sec1.pem", "ec256-pub.pem", "", " rest_webservices , ", []any{"rest_webservices"}},
		{"ec384-pkcs8.pem", "ec384-pub.pem", "", "", []any{"rest_webservices"}},
	}
	for _, tc := range tests {
		t.Run(tc.key+"/"+tc.alg, func(t *testing.T) {
			c := m2mConfig(fixture(t, tc.key), tc.alg)
			c.Scope = tc.scope
			c.Now = func() time.Time { return now.Add(400 * time.Millisecond) }
			src, err := newM2MSource(c, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			a1, err := src.assertion()
			if err != nil {
				t.Fatal(err)
			}
			header, claims, input, sig := jws(t, a1)
			alg := src.method.Alg()
			if len(header) != 3 || header["typ"] != "JWT" || header["alg"] != alg || header["kid"] != "cert-1" {
				t.Errorf("header = %v", header)
			}
			iat, _ := claims["iat"].(json.Number).Int64()
			exp, _ := claims["exp"].(json.Number).Int64()
			if iat != now.Unix() || exp-iat > 3600 || exp-iat < 3000 {
				t.Errorf("iat = %d exp = %d (exp-iat %d), want iat %d and exp-iat ≤ 3600", iat, exp, exp-iat, now.Unix())
			}
			if claims["iss"] != "m2m-client" || claims["aud"] != c.TokenURL || fmt.Sprint(claims["scope"]) != fmt.Sprint(tc.wantScope) {
				t.Errorf("claims = %v", claims)
			}
			if _, isArray := claims["scope"].([]any); !isArray {
				t.Errorf("scope %T, want a JSON array", claims["scope"])
			}
			jti, _ := claims["jti"].(string)
			if !uuidPattern.MatchString(jti) {
				t.Errorf("jti %q is not a random UUID", jti)
			}
			if len(claims) != 6 {
				t.Errorf("claims has %d members, want iss scope aud iat exp jti: %v", len(claims), claims)
			}
			verifyStdlib(t, alg, publicKey(t, tc.pub), input, sig)
			verifyOpenSSL(t, alg, tc.pub, input, sig)

			a2, _ := src.assertion()
			if _, c2, _, _ := jws(t, a2); c2["jti"] == jti {
				t.Error("two assertions share a jti")
			}
		})
	}
}

// tokenEndpoint answers client_credentials requests with a canned response and records
// what it was sent.
type tokenEndpoint struct {
	mu      sync.Mutex
	status  int
	body    string
	forms   []url.Values
	headers []http.Header
	api     []string // Authorization headers seen by /api
}

func (e *tokenEndpoint) start(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		e.mu.Lock()
		e.forms = append(e.forms, r.PostForm)
		e.headers = append(e.headers, r.Header.Clone())
		status, body := e.status, e.body
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.api = append(e.api, r.Header.Get("Authorization"))
		e.mu.Unlock()
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestM2MTokenRequest(t *testing.T) {
	e := &tokenEndpoint{status: 200, body: `{"access_token":"at-1","expires_in":3600,"token_type":"Bearer"}`}
	srv := e.start(t)
	c := m2mConfig(fixture(t, "ec256-pkcs8.pem"), "")
	c.TokenURL = srv.URL + "/token"
	rt, err := NewTransport(c, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
	for range 3 {
		resp, err := hc.Get(srv.URL + "/api")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.forms) != 1 {
		t.Fatalf("token requests = %d, want 1 (the token is cached)", len(e.forms))
	}
	f, h := e.forms[0], e.headers[0]
	if h.Get("Authorization") != "" {
		t.Errorf("token request carries Authorization %q; NetSuite wants no Basic header", h.Get("Authorization"))
	}
	if h.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	if len(f) != 3 || f.Get("grant_type") != "client_credentials" ||
		f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Errorf("form = %v", f)
	}
	header, claims, _, _ := jws(t, f.Get("client_assertion"))
	if header["alg"] != "ES256" || claims["aud"] != c.TokenURL {
		t.Errorf("assertion header %v claims %v", header, claims)
	}
	if strings.Join(e.api, ",") != "Bearer at-1,Bearer at-1,Bearer at-1" {
		t.Errorf("API Authorization = %v", e.api)
	}
}

func TestM2MTokenResponses(t *testing.T) {
	key := fixture(t, "rsa3072-pkcs8.pem")
	tests := []struct {
		name   string
		status int
		body   string
		class  error
		want   []string
	}{
		{"lower-case bearer", 200, `{"access_token":"a","expires_in":3600,"token_type":"bearer"}`, nil, nil},
		{"expires_in as string", 200, `{"access_token":"a","expires_in":"3600","token_type":"Bearer"}`, nil, nil},
		{"invalid_client", 401, `{"error":"invalid_client"}`, connector.ErrAuth,
			[]string{"1234567_SB1", "invalid_client", "NETSUITE_CLIENT_ID", "application ID", "NETSUITE_CERTIFICATE_ID", "Setup > Integration > Manage Authentication > OAuth 2.0 Client Credentials", "2 years"}},
		{"invalid_grant with description", 400, `{"error":"invalid_grant","error_description":"Invalid\nsignature"}`, connector.ErrAuth,
			[]string{"invalid_grant: Invalid signature", "NETSUITE_CERTIFICATE_ID"}},
		{"server_error (wrong iss)", 400, `{"error":"server_error"}`, connector.ErrAuth, []string{"server_error", "application ID"}},
		{"unauthorized_client", 400, `{"error":"unauthorized_client"}`, connector.ErrAuth,
			[]string{"Client Credentials (Machine to Machine) Grant", "unauthorized_client"}},
		{"invalid_scope", 400, `{"error":"invalid_scope"}`, connector.ErrAuth, []string{"rest_webservices", "invalid_scope"}},
		{"invalid_request", 400, `{"error":"invalid_request"}`, connector.ErrAuth, []string{"invalid_request"}},
		{"401 without a body", 401, ``, connector.ErrAuth, []string{"HTTP 401", "NETSUITE_CLIENT_ID"}},
		{"429", 429, `{"error":"too_many"}`, connector.ErrTransient, []string{"HTTP 429"}},
		{"503 HTML", 503, `<html>down</html>`, connector.ErrTransient, []string{"HTTP 503"}},
		{"200 not JSON", 200, `<html>proxy</html>`, connector.ErrTransient, []string{"not a token response"}},
		{"no access token", 200, `{"token_type":"Bearer"}`, connector.ErrAuth, []string{"no access token"}},
		{"wrong token type", 200, `{"access_token":"a","token_type":"mac"}`, connector.ErrAuth, []string{`"mac"`}},
		{"bad expires_in", 200, `{"access_token":"a","expires_in":-5}`, connector.ErrAuth, []string{"expires_in"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &tokenEndpoint{status: tc.status, body: tc.body}
			srv := e.start(t)
			c := m2mConfig(key, "")
			c.TokenURL = srv.URL + "/token"
			rt, err := NewTransport(c, http.DefaultTransport)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: rt}).Get(srv.URL + "/api")
			if tc.class == nil {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return
			}
			if !errors.Is(err, tc.class) {
				t.Fatalf("err = %v, want %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			e.mu.Lock()
			assertion := e.forms[0].Get("client_assertion")
			e.mu.Unlock()
			assertNoSecrets(t, err, append(secretLines(key), c.ClientSecret, assertion)...)
		})
	}

	t.Run("network error", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		tokenURL := srv.URL + "/token"
		srv.Close()
		c := m2mConfig(key, "")
		c.TokenURL = tokenURL
		rt, _ := NewTransport(c, http.DefaultTransport)
		_, err := (&http.Client{Transport: rt}).Get(tokenURL)
		if !errors.Is(err, connector.ErrTransient) {
			t.Fatalf("err = %v, want transient", err)
		}
		assertNoSecrets(t, err, secretLines(key)...)
	})

	t.Run("cancelled", func(t *testing.T) {
		e := &tokenEndpoint{status: 200, body: `{}`}
		srv := e.start(t)
		c := m2mConfig(key, "")
		c.TokenURL = srv.URL + "/token"
		rt, _ := NewTransport(c, http.DefaultTransport)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api", nil)
		_, err := (&http.Client{Transport: rt}).Do(req)
		if !errors.Is(err, connector.ErrInterrupted) {
			t.Fatalf("err = %v, want interrupted", err)
		}
	})
}

// TestM2MAgainstFake runs the client against netsuitetest, which verifies the assertion
// with its own code. Tokens live 2 s on a clock both sides share; advancing it expires
// the cached token, the API answers 401 and the transport signs a new assertion.
func TestM2MAgainstFake(t *testing.T) {
	certStart := func(t *testing.T) time.Time {
		block, _ := pem.Decode(fixture(t, "rsa3072-cert.pem"))
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return cert.NotBefore.Add(time.Hour)
	}
	tests := []struct {
		name, key, pub string
		start          func(*testing.T) time.Time
	}{
		{"RSA PKCS#1 / PS256 / public key", "rsa3072-pkcs1.pem", "rsa3072-pub.pem", nil},
		{"RSA PKCS#8 / PS256 / certificate", "rsa3072-pkcs8.pem", "rsa3072-cert.pem", certStart},
		{"EC SEC1 / ES256", "ec256-sec1.pem", "ec256-pub.pem", nil},
		{"EC P-384 / ES384", "ec384-pkcs8.pem", "ec384-pub.pem", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			if tc.start != nil {
				clk.now = tc.start(t)
			}
			srv, err := netsuitetest.New(netsuitetest.Options{
				AccountID: "1234567_SB1", ClientID: "m2m-client", CertificateID: "cert-1",
				CertificatePublicKeyPEM: fixture(t, tc.pub), AccessTokenTTL: 2 * time.Second, Now: clk.Now,
				Rows: map[string]int{"customer": 5},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c := m2mConfig(fixture(t, tc.key), "")
			c.TokenURL, c.Now = srv.TokenURL(), clk.Now
			rt, err := NewTransport(c, http.DefaultTransport)
			if err != nil {
				t.Fatal(err)
			}
			client, err := connector.NewClient(srv.URL(), &http.Client{Transport: rt}, connector.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// Within the token's lifetime: one token for several pages.
			for range 3 {
				p, err := client.SuiteQL(ctx, "SELECT id FROM customer", 1000, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Items) != 5 || p.TotalResults != 5 {
					t.Fatalf("page: %d items, total %d", len(p.Items), p.TotalResults)
				}
				clk.Advance(500 * time.Millisecond)
			}
			if n := srv.Stats().TokenRequests; n != 1 {
				t.Fatalf("token requests = %d, want 1", n)
			}
			// Each step outlives the token: every request gets a 401 first, then a new token.
			for range 4 {
				clk.Advance(3 * time.Second)
				if _, err := client.SuiteQL(ctx, "SELECT id FROM customer", 1000, 0); err != nil {
					t.Fatal(err)
				}
			}
			ids := srv.AssertionIDs()
			if len(ids) != 5 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 5 {
				t.Errorf("assertion ids = %v, want 5 distinct", ids)
			}
			if st := srv.Stats(); st.TokenRequests != 5 || st.SuiteQLRequests["customer"] != 3+2*4 {
				t.Errorf("stats: %d token requests, %d queries; want 5 and 11", st.TokenRequests, st.SuiteQLRequests["customer"])
			}
		})
	}
}

func TestM2MRefusedByFake(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	key := fixture(t, "rsa3072-pkcs8.pem")
	tests := []struct {
		name string
		opts netsuitetest.Options
		edit func(*Config)
		want []string
	}{
		{"wrong client id", netsuitetest.Options{ClientID: "the-real-client"}, nil, []string{"invalid_client", "application ID"}},
		{"wrong certificate id", netsuitetest.Options{CertificateID: "other-cert"}, nil, []string{"invalid_client", "NETSUITE_CERTIFICATE_ID"}},
		{"key does not match the certificate", netsuitetest.Options{CertificatePublicKeyPEM: fixture(t, "ec256-pub.pem")}, nil, []string{"invalid_client"}},
		{"client clock an hour behind", netsuitetest.Options{}, func(c *Config) {
			c.Now = func() time.Time { return clk.Now().Add(-time.Hour) }
		}, []string{"invalid_grant"}},
		{"no rest_webservices scope", netsuitetest.Options{}, func(c *Config) { c.Scope = "restlets" }, []string{"invalid_scope"}},
		{"M2M not enabled", netsuitetest.Options{CertificatePublicKeyPEM: []byte{}}, nil, []string{"unauthorized_client", "Client Credentials (Machine to Machine) Grant"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.AccountID, o.Now = "1234567_SB1", clk.Now
			if o.ClientID == "" {
				o.ClientID = "m2m-client"
			}
			if o.CertificateID == "" {
				o.CertificateID = "cert-1"
			}
			if o.CertificatePublicKeyPEM == nil {
				o.CertificatePublicKeyPEM = fixture(t, "rsa3072-pub.pem")
			}
			srv, err := netsuitetest.New(o)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c := m2mConfig(key, "")
			c.TokenURL, c.Now = srv.TokenURL(), clk.Now
			if tc.edit != nil {
				tc.edit(&c)
			}
			rt, err := NewTransport(c, http.DefaultTransport)
			if err != nil {
				t.Fatal(err)
			}
			client, _ := connector.NewClient(srv.URL(), &http.Client{Transport: rt}, connector.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond}, nil)
			_, err = client.SuiteQL(context.Background(), "SELECT id FROM customer", 1000, 0)
			if !errors.Is(err, connector.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := srv.Stats().TokenRequests; n != 1 {
				t.Errorf("token requests = %d, want 1 (an auth error is not retried)", n)
			}
			assertNoSecrets(t, err, append(secretLines(key), c.ClientSecret)...)
		})
	}
}
