package netsuitetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock most tests use: a winter instant, so the
// America/Los_Angeles offset at "now" is -08:00.
var fixedNow = time.Date(2025, 1, 20, 18, 30, 0, 0, time.UTC)

func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// fetchToken runs the refresh grant with the default credentials.
func fetchToken(t testing.TB, s *Server) string {
	t.Helper()
	status, body, _ := tokenRequest(t, s, "demo-client-id", "demo-client-secret",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.RefreshToken()}})
	if status != http.StatusOK {
		t.Fatalf("token: status %d: %s", status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("token body: %v", err)
	}
	return tr.AccessToken
}

func tokenRequest(t testing.TB, s *Server, id, secret string, form url.Values) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" || secret != "" {
		req.SetBasicAuth(id, secret)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

type page struct {
	Links []struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	} `json:"links"`
	Count        json.Number      `json:"count"`
	HasMore      bool             `json:"hasMore"`
	Offset       json.Number      `json:"offset"`
	TotalResults json.Number      `json:"totalResults"`
	Items        []map[string]any `json:"items"`
}

func (p page) count() int { n, _ := p.Count.Int64(); return int(n) }
func (p page) total() int { n, _ := p.TotalResults.Int64(); return int(n) }
func (p page) link(rel string) string {
	for _, l := range p.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

type nsError struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Status  int    `json:"status"`
	Details []struct {
		Detail string `json:"detail"`
		Code   string `json:"o:errorCode"`
	} `json:"o:errorDetails"`
}

func (e nsError) detail() string {
	if len(e.Details) == 0 {
		return ""
	}
	return e.Details[0].Detail
}

func (e nsError) code() string {
	if len(e.Details) == 0 {
		return ""
	}
	return e.Details[0].Code
}

type result struct {
	status int
	page   page
	err    nsError
	raw    []byte
	header http.Header
}

// suiteQL sends one well-formed query request (limit/offset < 0 = omitted).
func suiteQL(t testing.TB, s *Server, token, q string, limit, offset int, params ...any) result {
	t.Helper()
	u := s.URL() + suiteQLPath
	var qs []string
	if limit >= 0 {
		qs = append(qs, fmt.Sprintf("limit=%d", limit))
	}
	if offset >= 0 {
		qs = append(qs, fmt.Sprintf("offset=%d", offset))
	}
	if len(qs) > 0 {
		u += "?" + strings.Join(qs, "&")
	}
	body := map[string]any{"q": q}
	if len(params) > 0 {
		body["params"] = params
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Prefer", "transient")
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

func send(t testing.TB, req *http.Request) result {
	t.Helper()
	status, raw, h := do(t, req)
	r := result{status: status, raw: raw, header: h}
	if status == http.StatusOK {
		if err := json.Unmarshal(raw, &r.page); err != nil {
			t.Fatalf("decode page: %v\n%s", err, raw)
		}
	} else if err := json.Unmarshal(raw, &r.err); err != nil {
		t.Fatalf("decode error body (status %d): %v\n%s", status, err, raw)
	}
	return r
}

// mustQuery fails the test unless the query succeeds.
func mustQuery(t testing.TB, s *Server, token, q string, limit, offset int, params ...any) page {
	t.Helper()
	r := suiteQL(t, s, token, q, limit, offset, params...)
	if r.status != http.StatusOK {
		t.Fatalf("query %q: status %d: %s", q, r.status, r.raw)
	}
	return r.page
}
