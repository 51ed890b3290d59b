package auth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/extract-dev/extract/connector"
)

// tokenServer is a minimal OAuth 2.0 token endpoint plus an API that accepts only the
// latest access token, to drive the transport through refreshes and rotations.
type tokenServer struct {
	t          *testing.T
	mu         sync.Mutex
	refresh    string
	rotate     bool
	issued     int
	current    string
	revokeNext bool // the API rejects the next request with 401 even with a valid token
	alwaysDeny bool
	tokenCalls atomic.Int32
	apiCalls   atomic.Int32
	grantError string
}

func (s *tokenServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		s.tokenCalls.Add(1)
		id, secret, ok := r.BasicAuth()
		if !ok || id != "cid" || secret != "csecret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="X"`)
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		r.ParseForm()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.grantError != "" || r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != s.refresh {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		s.issued++
		s.current = fmt.Sprintf("access-%d", s.issued)
		body := fmt.Sprintf(`{"access_token":%q,"expires_in":3600,"token_type":"bearer"`, s.current)
		if s.rotate {
			s.refresh = fmt.Sprintf("refresh-%d", s.issued)
			body += fmt.Sprintf(`,"refresh_token":%q`, s.refresh)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body+"}")
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		s.apiCalls.Add(1)
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		ok := r.Header.Get("Authorization") == "Bearer "+s.current && !s.revokeNext && !s.alwaysDeny
		s.revokeNext = false
		s.mu.Unlock()
		if !ok {
			w.WriteHeader(401)
			io.WriteString(w, `{"status":401,"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}`)
			return
		}
		fmt.Fprintf(w, "ok:%s", b)
	})
	return mux
}

func setup(t *testing.T, ts *tokenServer, onRotate func(string) error) (*httptest.Server, *http.Client) {
	t.Helper()
	ts.t = t
	srv := httptest.NewServer(ts.handler())
	t.Cleanup(srv.Close)
	rt, err := NewTransport(Config{Method: OAuth2Refresh, AccountID: "123_SB1", TokenURL: srv.URL + "/token",
		ClientID: "cid", ClientSecret: "csecret", RefreshToken: ts.refresh, OnRefreshToken: onRotate}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	return srv, &http.Client{Transport: rt}
}

func post(t *testing.T, c *http.Client, url, body string) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func TestBearerReusesTokenAndRetriesOnce401(t *testing.T) {
	ts := &tokenServer{refresh: "r0"}
	srv, c := setup(t, ts, nil)
	for i := 0; i < 3; i++ {
		resp, body, err := post(t, c, srv.URL+"/api", "q")
		if err != nil || resp.StatusCode != 200 || body != "ok:q" {
			t.Fatalf("call %d: %v %v %q", i, err, resp, body)
		}
	}
	if n := ts.tokenCalls.Load(); n != 1 {
		t.Fatalf("token requests = %d, want 1 (token reused)", n)
	}
	// A token NetSuite stops accepting early: one refresh, one replay with the same body.
	ts.mu.Lock()
	ts.revokeNext = true
	ts.mu.Unlock()
	resp, body, err := post(t, c, srv.URL+"/api", "replayed")
	if err != nil || resp.StatusCode != 200 || body != "ok:replayed" {
		t.Fatalf("after 401: %v %v %q", err, resp, body)
	}
	if n := ts.tokenCalls.Load(); n != 2 {
		t.Fatalf("token requests = %d, want 2", n)
	}
}

func TestBearerSecond401IsFatalAuthError(t *testing.T) {
	ts := &tokenServer{refresh: "r0", alwaysDeny: true}
	srv, c := setup(t, ts, nil)
	_, _, err := post(t, c, srv.URL+"/api", "q")
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "oauth2-refresh") || !strings.Contains(err.Error(), "123_SB1") {
		t.Errorf("message should name method and account: %v", err)
	}
	if n := ts.apiCalls.Load(); n != 2 {
		t.Errorf("API calls = %d, want exactly 2 (one retry, no loop)", n)
	}
}

func TestInvalidGrantExplainsWhatToDo(t *testing.T) {
	ts := &tokenServer{refresh: "r0", grantError: "invalid_grant"}
	srv, c := setup(t, ts, nil)
	_, _, err := post(t, c, srv.URL+"/api", "q")
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "7 days") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "r0") || strings.Contains(err.Error(), "csecret") {
		t.Fatalf("error leaks a secret: %v", err)
	}
}

func TestRotatedRefreshTokenIsReportedAndUsed(t *testing.T) {
	ts := &tokenServer{refresh: "r0", rotate: true}
	var mu sync.Mutex
	var saved []string
	srv, c := setup(t, ts, func(tok string) error { mu.Lock(); saved = append(saved, tok); mu.Unlock(); return nil })
	for i := 0; i < 3; i++ {
		ts.mu.Lock()
		ts.revokeNext = i > 0 // force a refresh on each later call
		ts.mu.Unlock()
		if resp, _, err := post(t, c, srv.URL+"/api", "q"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(saved, ",") != "refresh-1,refresh-2,refresh-3" {
		t.Fatalf("rotated tokens reported = %v", saved)
	}
}

func TestConcurrentRequestsShareOneRefresh(t *testing.T) {
	ts := &tokenServer{refresh: "r0", rotate: true}
	srv, c := setup(t, ts, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _, err := post(t, c, srv.URL+"/api", "q")
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := ts.tokenCalls.Load(); n != 1 {
		t.Fatalf("token requests = %d, want 1: a one-time refresh token must not be spent twice", n)
	}
}

func TestWrongClientSecret(t *testing.T) {
	ts := &tokenServer{refresh: "r0"}
	srv := httptest.NewServer(ts.handler())
	defer srv.Close()
	rt, _ := NewTransport(Config{Method: OAuth2Refresh, AccountID: "1", TokenURL: srv.URL + "/token", ClientID: "cid", ClientSecret: "wrong", RefreshToken: "r0"}, http.DefaultTransport)
	_, _, err := post(t, &http.Client{Transport: rt}, srv.URL+"/api", "q")
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "NETSUITE_CLIENT_SECRET") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigValidateNamesSetting(t *testing.T) {
	cases := []struct {
		c    Config
		want string
	}{
		{Config{Method: OAuth2Refresh, ClientSecret: "s", RefreshToken: "r", TokenURL: "u"}, "NETSUITE_CLIENT_ID"},
		{Config{Method: OAuth2Refresh, ClientID: "c", RefreshToken: "r", TokenURL: "u"}, "NETSUITE_CLIENT_SECRET"},
		{Config{Method: OAuth2Refresh, ClientID: "c", ClientSecret: "s", TokenURL: "u"}, "NETSUITE_REFRESH_TOKEN"},
		{Config{Method: "basic"}, "NETSUITE_AUTH_METHOD"},
		{Config{}, "NETSUITE_AUTH_METHOD"},
	}
	for _, tc := range cases {
		err := tc.c.Validate()
		if !errors.Is(err, connector.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want config error naming %s", tc.c.Method, err, tc.want)
		}
	}
}
