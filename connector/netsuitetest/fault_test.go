package netsuitetest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFaultDropConnection: a Fault answering DropConnection closes the connection without
// a response; the request has left the in-flight count by the time the client sees it,
// is logged with status -1, and the server answers normally once the fault is removed.
func TestFaultDropConnection(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"task": 3}})
	tok := fetchToken(t, s)
	s.ResetStats()
	s.SetFault(func(r *http.Request) (int, string, bool) {
		return DropConnection, "ignored", true
	})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	for _, path := range []string{suiteQLPath + "?limit=10&offset=0", serverTimePath, tokenPath} {
		method, body := http.MethodPost, `{"q":"SELECT id FROM task"}`
		if path == serverTimePath {
			method, body = http.MethodGet, ""
		}
		req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s %s: got HTTP %d, want the connection closed without an answer", method, path, resp.StatusCode)
		}
		if n := s.inFlight.Load(); n != 0 {
			t.Errorf("%s: %d requests still in flight after the drop", path, n)
		}
	}
	st := s.Stats()
	if len(st.Queries) != 1 || st.Queries[0].Status != DropConnection || st.Queries[0].Table != "task" || st.TokenRequests != 1 {
		t.Errorf("stats after drops: queries %+v, token requests %d", st.Queries, st.TokenRequests)
	}

	s.SetFault(nil)
	if p := mustQuery(t, s, tok, "SELECT id FROM task", 10, 0); len(p.Items) != 3 {
		t.Fatalf("after removing the fault: %d items, want 3", len(p.Items))
	}
}

// TestSetLatency: with a latency set, SuiteQL answers come no sooner than that after the
// request, whole, and a dropped connection is still dropped (the delaying writer lets
// the connection be hijacked).
func TestSetLatency(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"task": 3}})
	tok := fetchToken(t, s)
	const d = 150 * time.Millisecond
	s.SetLatency(d)
	start := time.Now()
	if p := mustQuery(t, s, tok, "SELECT id FROM task", 10, 0); len(p.Items) != 3 {
		t.Fatalf("%d items, want 3", len(p.Items))
	}
	if took := time.Since(start); took < d {
		t.Errorf("answered after %v, want at least %v", took, d)
	}
	s.SetFault(func(r *http.Request) (int, string, bool) { return DropConnection, "", true })
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+suiteQLPath+"?limit=10&offset=0", strings.NewReader(`{"q":"SELECT id FROM task"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want the connection closed without an answer", resp.StatusCode)
	}
}
