package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var fastRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: time.Second}

func newTestClient(t *testing.T, h http.HandlerFunc) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, srv.Client(), fastRetry, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

const okPage = `{"links":[],"count":1,"hasMore":false,"offset":0,"totalResults":1,"items":[{"links":[],"id":"1"}]}`

func TestSuiteQLSendsNetSuiteRequest(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch {
		case r.Method != "POST", r.URL.Path != "/services/rest/query/v1/suiteql",
			r.URL.Query().Get("limit") != "1000", r.URL.Query().Get("offset") != "2000",
			r.Header.Get("Prefer") != "transient", r.Header.Get("Content-Type") != "application/json",
			string(b) != `{"q":"SELECT id FROM customer"}`:
			t.Errorf("unexpected request %s %s %v %s", r.Method, r.URL, r.Header, b)
		}
		io.WriteString(w, okPage)
	})
	p, err := c.SuiteQL(context.Background(), "SELECT id FROM customer", 1000, 2000)
	if err != nil || len(p.Items) != 1 || p.Items[0]["id"] != "1" {
		t.Fatalf("SuiteQL = %+v, %v", p, err)
	}
	for _, bad := range [][2]int{{0, 0}, {1001, 0}, {1000, 500}, {1000, -1000}} {
		if _, err := c.SuiteQL(context.Background(), "q", bad[0], bad[1]); err == nil {
			t.Errorf("limit %d offset %d accepted", bad[0], bad[1])
		}
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			io.WriteString(w, `{"type":"x","title":"Bad Request","status":429,"o:errorCode":"USER_ERROR","o:errorDetails":[{"detail":"Concurrent request limit exceeded. Request blocked.","o:errorCode":"CONCURRENCY_LIMIT_EXCEEDED"}]}`)
		case 2:
			w.WriteHeader(503)
			io.WriteString(w, "<html><body>Service Unavailable</body></html>")
		case 3:
			io.WriteString(w, `{"items":[{"id":"1"`) // cut short
		default:
			io.WriteString(w, okPage)
		}
	})
	p, err := c.SuiteQL(context.Background(), "q", 1000, 0)
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("SuiteQL = %v, %v", p, err)
	}
	if s := c.Stats(); s.Requests != 4 || s.Retries != 3 {
		t.Fatalf("stats = %+v, want 4 requests, 3 retries", s)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(500)
		io.WriteString(w, `{"status":500,"o:errorDetails":[{"detail":"An unexpected error occurred. Error ID: abc","o:errorCode":"UNEXPECTED_ERROR"}]}`)
	})
	_, err := c.SuiteQL(context.Background(), "q", 1000, 0)
	if !errors.Is(err, ErrTransient) || calls.Load() != int32(fastRetry.MaxAttempts) {
		t.Fatalf("err = %v after %d calls", err, calls.Load())
	}
	for _, want := range []string{"UNEXPECTED_ERROR", "Error ID: abc", "gave up after 4 attempts", "offset=0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestErrorsAreClassifiedAndNotRetried(t *testing.T) {
	cases := []struct {
		status int
		body   string
		class  error
		want   string
	}{
		{400, `{"status":400,"o:errorDetails":[{"detail":"Invalid search query. Search error occurred: Record 'task' was not found.","o:errorCode":"INVALID_PARAMETER"}]}`, ErrConfig, "Record 'task' was not found"},
		{401, `{"status":401,"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}`, ErrAuth, "INVALID_LOGIN"},
		{403, `<html>Forbidden by proxy</html>`, ErrAuth, "Forbidden by proxy"},
		{404, `{"status":404,"o:errorDetails":[{"detail":"x","o:errorCode":"NONEXISTENT_ID"}]}`, ErrConfig, "NONEXISTENT_ID"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var calls atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := c.SuiteQL(context.Background(), "q", 1000, 0)
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want class %v containing %q", err, tc.class, tc.want)
			}
			if calls.Load() != 1 {
				t.Fatalf("%d calls: a %d must not be retried", calls.Load(), tc.status)
			}
		})
	}
}

func TestSessionTimeZoneReadsTheValueWhateverItsKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"hasMore":false,"items":[{"links":[],"expr1":"America/New_York"}]}`: "America/New_York",
		`{"hasMore":false,"items":[{"links":[],"tz":"-05:00"}]}`:              "-05:00",
	} {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("limit") != "1" {
				t.Errorf("probe should ask for one row: %s", r.URL)
			}
			io.WriteString(w, body)
		})
		loc, raw, err := c.SessionTimeZone(context.Background())
		if err != nil || raw != want || loc == nil {
			t.Errorf("SessionTimeZone = %v %q %v, want %q", loc, raw, err, want)
		}
	}
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"hasMore":false,"items":[]}`)
	})
	if _, _, err := c.SessionTimeZone(context.Background()); err == nil || !strings.Contains(err.Error(), "NETSUITE_TIMEZONE") {
		t.Errorf("empty answer: %v", err)
	}
}

func TestServerTime(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/rest/system/v1/serverTime" || r.Method != "GET" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		io.WriteString(w, `{"serverTime":"2025-03-26T16:21:00.000Z"}`)
	})
	got, err := c.ServerTime(context.Background())
	if err != nil || !got.Equal(time.Date(2025, 3, 26, 16, 21, 0, 0, time.UTC)) {
		t.Fatalf("ServerTime = %v, %v", got, err)
	}
}

func TestCancelledContextIsInterrupted(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.SuiteQL(ctx, "q", 1000, 0); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
}

func TestLimitTransportBoundsInFlight(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		io.WriteString(w, "x")
	}))
	defer srv.Close()
	hc := &http.Client{Transport: NewLimiter(3).Transport(http.DefaultTransport)}
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak in flight = %d, want 2..3 with a limit of 3", p)
	}
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for n := 1; n < 40; n++ {
		ceiling := min(100*time.Millisecond<<min(n-1, 20), time.Second)
		if d := p.backoff(n); d < 0 || d > ceiling {
			t.Fatalf("backoff(%d) = %v, want 0..%v", n, d, ceiling)
		}
	}
}

// TestProbeContextTakesAnAnswerButRetriesThrottling: a probe takes NetSuite's 500 at
// once (it is what the probe asks), but a 429 says nothing about the query and is retried.
func TestProbeContextTakesAnAnswerButRetriesThrottling(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 1 {
			w.WriteHeader(429)
			io.WriteString(w, `{"status":429,"o:errorDetails":[{"detail":"Concurrent request limit exceeded. Request blocked.","o:errorCode":"CONCURRENCY_LIMIT_EXCEEDED"}]}`)
			return
		}
		w.WriteHeader(500)
		io.WriteString(w, `{"status":500,"o:errorDetails":[{"detail":"An unexpected error occurred. Error ID: x","o:errorCode":"UNEXPECTED_ERROR"}]}`)
	})
	_, err := c.SuiteQL(ProbeContext(context.Background()), "q", 1, 0)
	if calls.Load() != 2 || !ColumnFault(err) {
		t.Fatalf("%d calls, err %v: want the 429 retried, then the UNEXPECTED_ERROR taken at once", calls.Load(), err)
	}
	calls.Store(1)
	if _, err := c.SuiteQL(context.Background(), "q", 1, 0); calls.Load() != 1+int32(fastRetry.MaxAttempts) || !ColumnFault(err) {
		t.Fatalf("without a probe context: %d calls, err %v; want %d attempts", calls.Load()-1, err, fastRetry.MaxAttempts)
	}
}

// TestReadBody: a body is read whole, whether its length is declared, unknown (compressed
// or chunked: the largest body so far sizes the buffer) or declared wrong.
func TestReadBody(t *testing.T) {
	c := &Client{}
	big := bytes.Repeat([]byte(`{"id":"1234567","name":"Société Générale"},`), 20_000)
	for _, r := range []struct {
		name     string
		body     []byte
		declared int64
	}{
		{"declared", big, int64(len(big))},
		{"unknown", big, -1},
		{"unknown, smaller than the last", big[:1000], -1},
		{"declared short", big, 10},
		{"empty", nil, 0},
	} {
		got, err := c.readBody(&http.Response{ContentLength: r.declared, Body: io.NopCloser(bytes.NewReader(r.body))})
		if err != nil || !bytes.Equal(got, r.body) {
			t.Errorf("%s: read %d bytes (%v), want %d", r.name, len(got), err, len(r.body))
		}
	}
	if got := c.bodySize.Load(); got != int64(len(big)) {
		t.Errorf("largest body %d, want %d", got, len(big))
	}
}
