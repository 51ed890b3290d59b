package netsuitetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable server clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const invalidLogin = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail."

func assertUnauthorized(t *testing.T, r result, account string) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", r.status, r.raw)
	}
	if r.err.Status != 401 || r.err.Title != "Unauthorized" || r.err.code() != "INVALID_LOGIN" || r.err.detail() != invalidLogin ||
		r.err.Type != "https://www.w3.org/Protocols/rfc9110.html#section-15.5.2" {
		t.Errorf("body %s", r.raw)
	}
	if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="`+account+`", error="invalid_token"`; got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
}

func TestBearerAuth(t *testing.T) {
	c := &clock{now: fixedNow}
	s := startServer(t, Options{AccountID: "1234567_SB1", AccessTokenTTL: 3 * time.Second, Now: c.Now})
	tok := fetchToken(t, s)
	const q = "SELECT SESSIONTIMEZONE FROM DUAL"

	if r := suiteQL(t, s, tok, q, -1, -1); r.status != 200 {
		t.Fatalf("valid token: %d %s", r.status, r.raw)
	}
	assertUnauthorized(t, suiteQL(t, s, "not-a-token", q, -1, -1), "1234567_SB1")

	req, _ := http.NewRequest(http.MethodPost, s.URL()+suiteQLPath, strings.NewReader(`{"q":"`+q+`"}`))
	req.Header.Set("Prefer", "transient")
	req.Header.Set("Content-Type", "application/json")
	assertUnauthorized(t, send(t, req), "1234567_SB1") // no Authorization header

	c.Advance(2 * time.Second)
	if r := suiteQL(t, s, tok, q, -1, -1); r.status != 200 {
		t.Fatalf("token expired early: %d", r.status)
	}
	c.Advance(time.Second) // TTL reached
	assertUnauthorized(t, suiteQL(t, s, tok, q, -1, -1), "1234567_SB1")

	// serverTime uses the same bearer check and the server clock.
	get := func(token string) result {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+serverTimePath, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		status, raw, h := do(t, req)
		return result{status: status, raw: raw, header: h}
	}
	fresh := fetchToken(t, s)
	if r := get(fresh); r.status != 200 || string(r.raw) != `{"serverTime":"2025-01-20T18:30:03.000Z"}` {
		t.Errorf("serverTime: %d %s", r.status, r.raw)
	}
	if r := get(""); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("serverTime without token: %d", r.status)
	}
}

func TestTokenEndpoint(t *testing.T) {
	type tokenBody struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    any    `json:"expires_in"`
		TokenType    string `json:"token_type"`
		Error        string `json:"error"`
	}
	refresh := func(s *Server, id, secret, rt string) (int, tokenBody, http.Header) {
		status, body, h := tokenRequest(t, s, id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		var tb tokenBody
		if err := json.Unmarshal(body, &tb); err != nil {
			t.Fatalf("token body %s: %v", body, err)
		}
		return status, tb, h
	}

	t.Run("confidential client", func(t *testing.T) {
		s := startServer(t, Options{})
		status, tb, _ := refresh(s, "demo-client-id", "demo-client-secret", "demo-refresh-token")
		if status != 200 || len(tb.AccessToken) < 40 || tb.ExpiresIn != 3600.0 || tb.TokenType != "bearer" || tb.RefreshToken != "" {
			t.Errorf("status %d body %+v", status, tb)
		}
		// The refresh token is reusable and unchanged.
		if status, _, _ := refresh(s, "demo-client-id", "demo-client-secret", "demo-refresh-token"); status != 200 {
			t.Errorf("second refresh: %d", status)
		}
		if s.RefreshToken() != "demo-refresh-token" {
			t.Errorf("RefreshToken() = %q", s.RefreshToken())
		}
	})

	t.Run("rotation", func(t *testing.T) {
		s := startServer(t, Options{RotateRefreshTokens: true, AccessTokenTTL: 2 * time.Second, ClientID: "id/with odd+chars", ClientSecret: "s&cret"})
		status, tb, _ := refresh(s, "id/with odd+chars", "s&cret", "demo-refresh-token")
		if status != 200 || tb.RefreshToken == "" || tb.RefreshToken == "demo-refresh-token" || tb.ExpiresIn != 2.0 {
			t.Fatalf("status %d body %+v", status, tb)
		}
		if s.RefreshToken() != tb.RefreshToken {
			t.Errorf("RefreshToken() = %q, want the rotated %q", s.RefreshToken(), tb.RefreshToken)
		}
		if status, old, _ := refresh(s, "id/with odd+chars", "s&cret", "demo-refresh-token"); status != 400 || old.Error != "invalid_grant" {
			t.Errorf("reused refresh token: %d %+v", status, old)
		}
		// RFC 6749 form-encodes credentials before Basic; x/oauth2 does that.
		if status, next, _ := refresh(s, url.QueryEscape("id/with odd+chars"), url.QueryEscape("s&cret"), tb.RefreshToken); status != 200 || next.RefreshToken == tb.RefreshToken {
			t.Errorf("rotated token refresh: %d %+v", status, next)
		}
	})

	t.Run("errors", func(t *testing.T) {
		s := startServer(t, Options{AccountID: "TSTDRV42"})
		tests := []struct {
			name, id, secret string
			form             url.Values
			status           int
			code             string
		}{
			{"wrong secret", "demo-client-id", "nope", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"demo-refresh-token"}}, 401, "invalid_client"},
			{"no client auth", "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"demo-refresh-token"}}, 401, "invalid_client"},
			{"unknown refresh token", "demo-client-id", "demo-client-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"stolen"}}, 400, "invalid_grant"},
			{"client credentials not enabled", "", "", url.Values{"grant_type": {"client_credentials"}}, 400, "unauthorized_client"},
			{"password grant", "demo-client-id", "demo-client-secret", url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
			{"missing grant", "demo-client-id", "demo-client-secret", url.Values{}, 400, "invalid_request"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body, h := tokenRequest(t, s, tc.id, tc.secret, tc.form)
				var tb tokenBody
				_ = json.Unmarshal(body, &tb)
				if status != tc.status || tb.Error != tc.code {
					t.Errorf("got %d %s, want %d %s", status, body, tc.status, tc.code)
				}
				if tc.status == 401 && h.Get("WWW-Authenticate") != `Basic realm="TSTDRV42"` {
					t.Errorf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
				}
			})
		}
		s.RevokeRefreshToken()
		if status, tb, _ := refresh(s, "demo-client-id", "demo-client-secret", "demo-refresh-token"); status != 400 || tb.Error != "invalid_grant" {
			t.Errorf("revoked: %d %+v", status, tb)
		}
	})
}

func TestRequestValidation(t *testing.T) {
	s := startServer(t, Options{})
	tok := fetchToken(t, s)
	body := `{"q":"SELECT SESSIONTIMEZONE FROM DUAL"}`
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"ok", "POST", suiteQLPath, nil, body, 200, ""},
		{"prefer with other preferences", "POST", suiteQLPath, map[string]string{"Prefer": "respond-async, transient"}, body, 200, ""},
		{"missing Prefer", "POST", suiteQLPath, map[string]string{"Prefer": ""}, body, 400, "INVALID_HEADER"},
		{"wrong Prefer", "POST", suiteQLPath, map[string]string{"Prefer": "respond-async"}, body, 400, "INVALID_HEADER"},
		{"form content type", "POST", suiteQLPath, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body, 400, "INVALID_CONTENT"},
		{"json with charset", "POST", suiteQLPath, map[string]string{"Content-Type": "application/json; charset=utf-8"}, body, 200, ""},
		{"bad json", "POST", suiteQLPath, nil, `{"q":`, 400, "INVALID_CONTENT"},
		{"no q", "POST", suiteQLPath, nil, `{"query":"SELECT 1"}`, 400, "INVALID_CONTENT"},
		{"GET", "GET", suiteQLPath, nil, "", 405, "INVALID_REQUEST"},
		{"unknown path", "GET", "/services/rest/record/v1/customer/1", nil, "", 404, "NONEXISTENT_ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Prefer", "transient")
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.headers {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			r := send(t, req)
			if r.status != tc.status || (tc.code != "" && r.err.code() != tc.code) {
				t.Errorf("got %d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
		})
	}
}
