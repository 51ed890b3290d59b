package netsuitetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Known-answer material made with openssl: see testdata/auth/README.md.
const authFixtures = "../../testdata/auth"

func authFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(authFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func privateKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	block, _ := pem.Decode(authFixture(t, name))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// signJWT builds a compact JWS with the standard library. alg picks the
// scheme: PS* (PSS, salt = hash), RS* (PKCS#1 v1.5), ES* (r||s), "none".
func signJWT(t testing.TB, key crypto.Signer, header, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	alg, _ := header["alg"].(string)
	if alg == "none" || alg == "" {
		return input + "."
	}
	h := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[alg[2:]]
	hh := h.New()
	hh.Write([]byte(input))
	digest := hh.Sum(nil)
	var sig []byte
	var err error
	switch {
	case strings.HasPrefix(alg, "PS"):
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case strings.HasPrefix(alg, "RS"):
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), h, digest)
	case strings.HasPrefix(alg, "ES"):
		k := key.(*ecdsa.PrivateKey)
		r, s, e := ecdsa.Sign(rand.Reader, k, digest)
		n := (k.Curve.Params().BitSize + 7) / 8
		sig, err = make([]byte, 2*n), e
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func clientCredentials(t testing.TB, s *Server, assertion string, basic bool, extra url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {jwtBearerType}, "client_assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("m2m-client", "secret")
	}
	status, body, h := do(t, req)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("token body %s: %v", body, err)
	}
	return status, v, h
}

// TestM2MFixtureAssertions feeds the verifier assertions signed by openssl.
func TestM2MFixtureAssertions(t *testing.T) {
	const aud = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
	var claims struct{ Iat int64 }
	payload := strings.Split(string(authFixture(t, "ps256.jwt")), ".")[1]
	if b, err := base64.RawURLEncoding.DecodeString(payload); err != nil || json.Unmarshal(b, &claims) != nil || claims.Iat == 0 {
		t.Fatalf("ps256.jwt payload: %v", err)
	}
	iat := time.Unix(claims.Iat, 0) // all fixture assertions share it
	tests := []struct {
		jwt, pub string
		at       time.Time
		code     string
		jti      string
	}{
		{"ps256.jwt", "rsa3072-pub.pem", iat.Add(10 * time.Second), "", "fixture-ps256-0001"},
		{"ps256.jwt", "rsa3072-cert.pem", iat.Add(10 * time.Second), "", "fixture-ps256-0001"},
		{"es256.jwt", "ec256-pub.pem", iat.Add(10 * time.Second), "", "fixture-es256-0001"},
		{"rs256.jwt", "rsa3072-pub.pem", iat.Add(10 * time.Second), "invalid_client", ""},
		{"es256.jwt", "rsa3072-pub.pem", iat.Add(10 * time.Second), "invalid_client", ""},
		{"ps256.jwt", "rsa3072-pub.pem", iat.Add(3300 * time.Second), "invalid_grant", ""},         // at exp
		{"ps256.jwt", "rsa3072-pub.pem", iat.Add(-6 * time.Minute), "invalid_grant", ""},           // iat too far ahead
		{"ps256.jwt", "rsa3072-cert.pem", iat.Add(3 * 365 * 24 * time.Hour), "invalid_client", ""}, // certificate expired
	}
	for _, tc := range tests {
		t.Run(tc.jwt+"/"+tc.pub, func(t *testing.T) {
			at := tc.at
			s := startServer(t, Options{ClientID: "test-client-id", CertificateID: "test-cert-id",
				CertificatePublicKeyPEM: authFixture(t, tc.pub), Now: func() time.Time { return at }})
			jti, oerr := s.auth.verifyAssertion(strings.TrimSpace(string(authFixture(t, tc.jwt))), aud)
			switch {
			case tc.code == "" && oerr != nil:
				t.Fatalf("refused: %+v", oerr)
			case tc.code == "" && jti != tc.jti:
				t.Errorf("jti %q, want %q", jti, tc.jti)
			case tc.code != "" && (oerr == nil || oerr.code != tc.code):
				t.Errorf("got %+v, want %s", oerr, tc.code)
			}
			if tc.jwt == "rs256.jwt" && (oerr == nil || !strings.Contains(oerr.desc, "RS256")) {
				t.Errorf("RS256 refusal should name the algorithm: %+v", oerr)
			}
		})
	}
}

func TestM2MGrant(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rsaKey, ecKey := privateKey(t, "rsa3072-pkcs8.pem"), privateKey(t, "ec256-pkcs8.pem")
	start := func(t *testing.T, pub string) *Server {
		return startServer(t, Options{AccountID: "1234567_SB1", ClientID: "m2m-client", CertificateID: "cert-1",
			CertificatePublicKeyPEM: authFixture(t, pub), AccessTokenTTL: 2 * time.Second, Now: func() time.Time { return now }})
	}
	header := func(alg string) map[string]any { return map[string]any{"alg": alg, "kid": "cert-1", "typ": "JWT"} }
	n := 0
	claims := func(s *Server) map[string]any {
		n++
		return map[string]any{"iss": "m2m-client", "scope": []string{"rest_webservices"}, "aud": s.TokenURL(),
			"iat": now.Unix(), "exp": now.Unix() + 3540, "jti": "jti-" + time.Duration(n).String()}
	}

	t.Run("accepted and usable", func(t *testing.T) {
		for _, tc := range []struct {
			pub string
			key crypto.Signer
			alg string
		}{{"rsa3072-pub.pem", rsaKey, "PS256"}, {"rsa3072-pub.pem", rsaKey, "PS384"}, {"rsa3072-pub.pem", rsaKey, "PS512"}, {"ec256-pub.pem", ecKey, "ES256"}} {
			s := start(t, tc.pub)
			c := claims(s)
			status, body, h := clientCredentials(t, s, signJWT(t, tc.key, header(tc.alg), c), false, nil)
			if status != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 2.0 || body["refresh_token"] != nil {
				t.Fatalf("%s: %d %v", tc.alg, status, body)
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
			}
			tok, _ := body["access_token"].(string)
			if r := suiteQL(t, s, tok, "SELECT SESSIONTIMEZONE FROM DUAL", -1, -1); r.status != 200 {
				t.Errorf("%s token refused by the API: %d %s", tc.alg, r.status, r.raw)
			}
			if ids := s.AssertionIDs(); len(ids) != 1 || ids[0] != c["jti"] {
				t.Errorf("AssertionIDs = %v", ids)
			}
		}
	})

	t.Run("scope forms", func(t *testing.T) {
		s := start(t, "rsa3072-pub.pem")
		for _, scope := range []any{"rest_webservices", "restlets,rest_webservices", "restlets rest_webservices", "restlets, rest_webservices", []string{"restlets", "rest_webservices"}} {
			c := claims(s)
			c["scope"] = scope
			if status, body, _ := clientCredentials(t, s, signJWT(t, rsaKey, header("PS256"), c), false, nil); status != 200 {
				t.Errorf("scope %v: %d %v", scope, status, body)
			}
		}
	})

	type edit func(s *Server, h, c map[string]any)
	tests := []struct {
		name   string
		pub    string
		key    crypto.Signer
		alg    string
		edit   edit
		build  func(key crypto.Signer, h, c map[string]any) string // instead of signJWT
		tamper bool
		basic  bool
		extra  url.Values
		status int
		code   string
	}{
		{name: "wrong kid", edit: func(_ *Server, h, _ map[string]any) { h["kid"] = "other-cert" }, status: 401, code: "invalid_client"},
		{name: "no kid", edit: func(_ *Server, h, _ map[string]any) { delete(h, "kid") }, status: 401, code: "invalid_client"},
		{name: "typ not JWT", edit: func(_ *Server, h, _ map[string]any) { h["typ"] = "at+jwt" }, status: 401, code: "invalid_client"},
		{name: "wrong iss (application id)", edit: func(_ *Server, _, c map[string]any) { c["iss"] = "270C4477-C5F5-4E04-BCC1-B033D94A9C08" }, status: 401, code: "invalid_client"},
		{name: "aud mismatch", edit: func(_ *Server, _, c map[string]any) {
			c["aud"] = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
		}, status: 400, code: "invalid_grant"},
		{name: "aud as array", edit: func(s *Server, _, c map[string]any) { c["aud"] = []string{"x", s.TokenURL()} }, status: 200},
		{name: "exp-iat 3600", edit: func(_ *Server, _, c map[string]any) { c["exp"] = now.Unix() + 3600 }, status: 200},
		{name: "exp-iat 3601", edit: func(_ *Server, _, c map[string]any) { c["exp"] = now.Unix() + 3601 }, status: 400, code: "invalid_grant"},
		{name: "expired", edit: func(_ *Server, _, c map[string]any) { c["iat"], c["exp"] = now.Unix()-600, now.Unix()-1 }, status: 400, code: "invalid_grant"},
		{name: "exp before iat", edit: func(_ *Server, _, c map[string]any) { c["exp"] = now.Unix() - 10 }, status: 400, code: "invalid_grant"},
		{name: "iat 10 minutes ahead", edit: func(_ *Server, _, c map[string]any) { c["iat"], c["exp"] = now.Unix()+600, now.Unix()+1200 }, status: 400, code: "invalid_grant"},
		{name: "iat 1 minute ahead", edit: func(_ *Server, _, c map[string]any) { c["iat"] = now.Unix() + 60 }, status: 200},
		{name: "no exp", edit: func(_ *Server, _, c map[string]any) { delete(c, "exp") }, status: 400, code: "invalid_grant"},
		{name: "string iat", edit: func(_ *Server, _, c map[string]any) { c["iat"] = "1772366400" }, status: 400, code: "invalid_grant"},
		{name: "no scope", edit: func(_ *Server, _, c map[string]any) { delete(c, "scope") }, status: 400, code: "invalid_scope"},
		{name: "restlets only", edit: func(_ *Server, _, c map[string]any) { c["scope"] = "restlets" }, status: 400, code: "invalid_scope"},
		{name: "numeric jti", edit: func(_ *Server, _, c map[string]any) { c["jti"] = 7 }, status: 400, code: "invalid_request"},
		{name: "RS256", alg: "RS256", status: 401, code: "invalid_client"},
		{name: "HS256", alg: "HS256", build: func(_ crypto.Signer, h, c map[string]any) string {
			return unsignedJWT(h, c, "0123456789abcdef0123456789abcdef")
		}, status: 401, code: "invalid_client"},
		{name: "alg none", alg: "none", status: 401, code: "invalid_client"},
		{name: "ES256 against an RSA certificate", key: ecKey, alg: "ES256", status: 401, code: "invalid_client"},
		{name: "PS256 against an EC certificate", pub: "ec256-pub.pem", alg: "PS256", status: 401, code: "invalid_client"},
		{name: "ES384 header on a P-256 signature", pub: "ec256-pub.pem", key: ecKey, alg: "ES384", build: func(k crypto.Signer, h, c map[string]any) string {
			h["alg"] = "ES256"
			sig := strings.Split(signJWT(t, k, h, c), ".")[2]
			h["alg"] = "ES384" // re-labelled: the signature is valid ES256 over other bytes
			return strings.TrimSuffix(unsignedJWT(h, c, ""), ".") + "." + sig
		}, status: 401, code: "invalid_client"},
		{name: "tampered claims", tamper: true, status: 401, code: "invalid_client"},
		{name: "Basic header as well", basic: true, status: 400, code: "invalid_request"},
		{name: "wrong assertion type", extra: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}}, status: 400, code: "invalid_request"},
		{name: "two assertions", extra: url.Values{"client_assertion": {"a.b.c", "d.e.f"}}, status: 400, code: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, key, alg := tc.pub, tc.key, tc.alg
			if pub == "" {
				pub = "rsa3072-pub.pem"
			}
			if key == nil {
				key = rsaKey
			}
			if alg == "" {
				alg = "PS256"
			}
			s := start(t, pub)
			h, c := header(alg), claims(s)
			if tc.edit != nil {
				tc.edit(s, h, c)
			}
			assertion := ""
			if tc.build != nil {
				assertion = tc.build(key, h, c)
			} else {
				assertion = signJWT(t, key, h, c)
			}
			if tc.tamper {
				parts := strings.Split(assertion, ".")
				c["iss"] = "m2m-client"
				c["scope"] = []string{"rest_webservices", "restlets"}
				cb, _ := json.Marshal(c)
				assertion = parts[0] + "." + base64.RawURLEncoding.EncodeToString(cb) + "." + parts[2]
			}
			status, body, hdr := clientCredentials(t, s, assertion, tc.basic, tc.extra)
			if status != tc.status || (tc.code != "" && body["error"] != tc.code) {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") != `Basic realm="1234567_SB1"` {
				t.Errorf("WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
			}
			if status != 200 && len(s.AssertionIDs()) != 0 {
				t.Errorf("a refused assertion was recorded: %v", s.AssertionIDs())
			}
		})
	}

	t.Run("replayed jti", func(t *testing.T) {
		s := start(t, "rsa3072-pub.pem")
		a := signJWT(t, rsaKey, header("PS256"), claims(s))
		if status, body, _ := clientCredentials(t, s, a, false, nil); status != 200 {
			t.Fatalf("first use: %d %v", status, body)
		}
		if status, body, _ := clientCredentials(t, s, a, false, nil); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("replay: %d %v", status, body)
		}
		// The same jti in a newly signed assertion is a replay too.
		c := claims(s)
		c["jti"] = s.AssertionIDs()[0]
		if status, _, _ := clientCredentials(t, s, signJWT(t, rsaKey, header("PS256"), c), false, nil); status != 400 {
			t.Errorf("reused jti: %d", status)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		s := start(t, "rsa3072-pub.pem")
		for _, a := range []string{"abc", "a.b.c", "e30.e30", "e30.bm90IGpzb24.", "eyJhbGciOiJQUzI1NiJ9.W10.", "e30=.e30=.e30="} {
			if status, body, _ := clientCredentials(t, s, a, false, nil); status != 400 || body["error"] != "invalid_request" {
				t.Errorf("%q: %d %v", a, status, body)
			}
		}
	})

	t.Run("expired certificate", func(t *testing.T) {
		block, _ := pem.Decode(authFixture(t, "rsa3072-cert.pem"))
		cert, _ := x509.ParseCertificate(block.Bytes)
		at := cert.NotAfter.Add(time.Minute)
		s := startServer(t, Options{ClientID: "m2m-client", CertificateID: "cert-1", CertificatePublicKeyPEM: authFixture(t, "rsa3072-cert.pem"),
			Now: func() time.Time { return at }})
		c := claims(s)
		c["iat"], c["exp"] = at.Unix(), at.Unix()+60
		if status, body, _ := clientCredentials(t, s, signJWT(t, rsaKey, header("PS256"), c), false, nil); status != 401 || body["error"] != "invalid_client" {
			t.Errorf("expired certificate: %d %v", status, body)
		}
	})
}

// unsignedJWT encodes header and claims with sig (raw bytes) as the signature.
func unsignedJWT(h, c map[string]any, sig string) string {
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb) + "." + base64.RawURLEncoding.EncodeToString([]byte(sig))
}

func TestNewPanicsOnUnusableCertificate(t *testing.T) {
	for name, pemBytes := range map[string][]byte{
		"garbage":     []byte("nope"),
		"private key": authFixture(t, "rsa3072-pkcs8.pem"),
		"RSA 1024":    pubPEM(t, "rsa1024-pkcs8.pem"),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New accepted it")
				}
			}()
			s, _ := New(Options{CertificatePublicKeyPEM: pemBytes})
			s.Close()
		})
	}
}

func pubPEM(t *testing.T, privateFile string) []byte {
	der, err := x509.MarshalPKIXPublicKey(privateKey(t, privateFile).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestWriteUnauthorizedChallenge(t *testing.T) {
	a := newAuthState(Options{AccountID: "1234567_SB1", Now: time.Now})
	for scheme, want := range map[string]string{
		"OAuth":  `OAuth realm="1234567_SB1"`,
		"Bearer": `Bearer realm="1234567_SB1", error="invalid_token"`,
		"":       `Bearer realm="1234567_SB1", error="invalid_token"`,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if scheme != "" {
			r.Header.Set("Authorization", scheme+` x="y"`)
		}
		w := httptest.NewRecorder()
		a.writeUnauthorized(w, r)
		if got := w.Header().Get("WWW-Authenticate"); got != want || w.Code != 401 || !strings.Contains(w.Body.String(), "INVALID_LOGIN") {
			t.Errorf("%q: %d %q %s", scheme, w.Code, got, w.Body)
		}
	}
}
