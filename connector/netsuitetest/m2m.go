package netsuitetest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The OAuth 2.0 client credentials (machine to machine) grant: the client
// authenticates with a JWT assertion signed by the private key whose public
// half is "uploaded" in Options.CertificatePublicKeyPEM. The assertion is
// verified here with the standard library only, independently of any JWT
// library a client may use.

const (
	jwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// maxAssertionLifetime: NetSuite wants exp less than 60 minutes after iat.
	maxAssertionLifetime = 3600
	// maxFutureIat tolerates a client clock a little ahead of the server's.
	maxFutureIat = 5 * 60
)

type m2mConfig struct {
	certID string
	key    crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
	cert   *x509.Certificate
}

// jwsAlgs are the algorithms NetSuite lists; RS256 (PKCS#1 v1.5) is not one.
var jwsAlgs = map[string]struct {
	hash  crypto.Hash
	curve elliptic.Curve // nil: RSA-PSS
}{
	"PS256": {crypto.SHA256, nil},
	"PS384": {crypto.SHA384, nil},
	"PS512": {crypto.SHA512, nil},
	"ES256": {crypto.SHA256, elliptic.P256()},
	"ES384": {crypto.SHA384, elliptic.P384()},
	"ES512": {crypto.SHA512, elliptic.P521()},
}

// newM2MConfig reads the "uploaded" certificate; nil when none is set.
func newM2MConfig(o Options) *m2mConfig {
	if len(o.CertificatePublicKeyPEM) == 0 {
		return nil
	}
	certID := o.CertificateID
	if certID == "" {
		certID = "demo-certificate-id"
	}
	c := &m2mConfig{certID: certID}
	block, _ := pem.Decode(o.CertificatePublicKeyPEM)
	if block == nil {
		panic("netsuitetest: CertificatePublicKeyPEM holds no PEM block")
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			panic("netsuitetest: CertificatePublicKeyPEM: " + err.Error())
		}
		c.cert, c.key = cert, cert.PublicKey
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			panic("netsuitetest: CertificatePublicKeyPEM: " + err.Error())
		}
		c.key = k
	default:
		panic(fmt.Sprintf("netsuitetest: CertificatePublicKeyPEM holds a %q block, want PUBLIC KEY or CERTIFICATE", block.Type))
	}
	switch k := c.key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			panic("netsuitetest: CertificatePublicKeyPEM: RSA keys must have at least 2048 bits")
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			panic("netsuitetest: CertificatePublicKeyPEM: EC keys must be P-256, P-384 or P-521")
		}
	default:
		panic(fmt.Sprintf("netsuitetest: CertificatePublicKeyPEM: %T keys are not accepted by NetSuite", c.key))
	}
	return c
}

// clientCredentialsGrant: no HTTP Basic, a JWT client assertion instead.
func clientCredentialsGrant(a *authState, r *http.Request, form url.Values) (tokenResponse, *oauthError) {
	if a.m2m == nil {
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "unauthorized_client",
			desc: "the client credentials grant is not enabled for this integration"}
	}
	if r.Header.Get("Authorization") != "" {
		// RFC 6749 §2.3: a client must not use more than one authentication method.
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_request",
			desc: "client_credentials authenticates with client_assertion only"}
	}
	for _, p := range []string{"client_assertion_type", "client_assertion"} {
		if len(form[p]) != 1 || form.Get(p) == "" {
			return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: p + " is required once"}
		}
	}
	if form.Get("client_assertion_type") != jwtBearerType {
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: "unsupported client_assertion_type"}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	jti, oerr := a.verifyAssertion(form.Get("client_assertion"), scheme+"://"+r.Host+r.URL.Path)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if jti != "" {
		if a.jtis[jti] {
			return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_grant", desc: "the assertion was already used (jti)"}
		}
		a.jtis[jti] = true
		a.jtiLog = append(a.jtiLog, jti)
	}
	resp := tokenResponse{
		AccessToken: newOpaqueToken(),
		ExpiresIn:   int64(a.ttl / time.Second),
		TokenType:   "Bearer", // capitalised, as in Oracle's client-credentials sample
	}
	now := a.now()
	for tok, exp := range a.access {
		if !now.Before(exp) {
			delete(a.access, tok)
		}
	}
	a.access[resp.AccessToken] = now.Add(a.ttl)
	return resp, nil
}

func invalidClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: desc}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", desc: desc}
}

// verifyAssertion checks a client assertion for the token endpoint at
// tokenURL (its aud) and returns its jti. Malformed input is invalid_request;
// a wrong key, algorithm, kid or issuer invalid_client; wrong audience or
// times invalid_grant; a missing rest_webservices scope invalid_scope.
func (a *authState) verifyAssertion(assertion, tokenURL string) (string, *oauthError) {
	malformed := func(what string) *oauthError {
		return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: "client_assertion: " + what}
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "", malformed("not a signed JWT (header.payload.signature)")
	}
	var segs [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return "", malformed("segment is not unpadded base64url")
		}
		segs[i] = b
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(segs[0], &hdr); err != nil {
		return "", malformed("header is not a JSON object")
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(segs[1]))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return "", malformed("payload is not a JSON object")
	}

	// Header and signature: who is asking.
	alg, ok := jwsAlgs[hdr.Alg]
	if !ok {
		return "", invalidClient(fmt.Sprintf("alg %q is not accepted; use PS256, PS384, PS512, ES256, ES384 or ES512", hdr.Alg))
	}
	if hdr.Typ != "JWT" {
		return "", invalidClient(`typ must be "JWT"`)
	}
	if hdr.Kid != a.m2m.certID {
		return "", invalidClient("kid does not name a certificate mapped to this integration")
	}
	if !verifyJWS(a.m2m.key, alg.hash, alg.curve, []byte(parts[0]+"."+parts[1]), segs[2]) {
		return "", invalidClient("signature does not verify with the mapped certificate")
	}
	now := a.now()
	if c := a.m2m.cert; c != nil && (now.Before(c.NotBefore) || now.After(c.NotAfter)) {
		return "", invalidClient("the mapped certificate is not valid now")
	}
	if iss, _ := claims["iss"].(string); subtle.ConstantTimeCompare([]byte(iss), []byte(a.clientID)) != 1 {
		return "", invalidClient("iss must be the integration's client ID")
	}

	// Claims: for what and when.
	if !audienceIncludes(claims["aud"], tokenURL) {
		return "", invalidGrant("aud must be the token endpoint URL")
	}
	iat, okIat := numericDate(claims["iat"])
	exp, okExp := numericDate(claims["exp"])
	switch {
	case !okIat || !okExp:
		return "", invalidGrant("iat and exp are required numeric dates")
	case exp <= iat || exp-iat > maxAssertionLifetime:
		return "", invalidGrant("exp must be after iat and at most 60 minutes later")
	case float64(now.Unix()) >= exp:
		return "", invalidGrant("the assertion has expired")
	case iat > float64(now.Unix()+maxFutureIat):
		return "", invalidGrant("iat is in the future")
	}
	if !slices.Contains(scopeList(claims["scope"]), "rest_webservices") {
		return "", &oauthError{status: http.StatusBadRequest, code: "invalid_scope", desc: "scope must include rest_webservices"}
	}
	jti, isString := claims["jti"].(string)
	if _, present := claims["jti"]; present && (!isString || jti == "") {
		return "", malformed("jti must be a non-empty string")
	}
	return jti, nil
}

// verifyJWS checks an RSASSA-PSS (salt length = hash length, RFC 7518 §3.5)
// or ECDSA (r||s, RFC 7518 §3.4) signature.
func verifyJWS(key crypto.PublicKey, h crypto.Hash, curve elliptic.Curve, input, sig []byte) bool {
	hasher := h.New()
	hasher.Write(input)
	digest := hasher.Sum(nil)
	switch k := key.(type) {
	case *rsa.PublicKey:
		if curve != nil {
			return false
		}
		return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
	case *ecdsa.PublicKey:
		if curve == nil || k.Curve != curve {
			return false
		}
		n := (curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return false
		}
		r := new(big.Int).SetBytes(sig[:n])
		s := new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

func audienceIncludes(aud any, want string) bool {
	switch v := aud.(type) {
	case string:
		return v == want
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

func numericDate(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && f > 0
}

// scopeList accepts the documented comma-separated string, a space-separated
// one, or the array Oracle's sample assertion uses.
func scopeList(v any) []string {
	var out []string
	switch s := v.(type) {
	case string:
		out = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	case []any:
		for _, x := range s {
			if str, ok := x.(string); ok {
				out = append(out, strings.TrimSpace(str))
			}
		}
	}
	return out
}

// AssertionIDs returns the jti of every client assertion the token endpoint
// accepted, in order.
func (s *Server) AssertionIDs() []string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return slices.Clone(s.auth.jtiLog)
}
