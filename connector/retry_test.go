package connector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the retry policy's clock and sleeper: a wait advances it at once and is
// recorded, so nothing sleeps for real.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

var clockStart = time.Date(2025, 3, 26, 16, 21, 0, 0, time.UTC)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	return ctx.Err()
}

func (c *fakeClock) slept() (sum time.Duration, n int, longest time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waits {
		sum += w
		longest = max(longest, w)
	}
	return sum, len(c.waits), longest
}

// answer is what the test server says to attempt n (from 1): a status (drop: close the
// connection), a Retry-After header and a body.
type answer struct {
	status     int
	retryAfter string
	body       string
}

const drop = -1

var (
	throttled  = answer{status: 429, body: `{"status":429,"o:errorCode":"USER_ERROR","o:errorDetails":[{"detail":"Concurrent request limit exceeded. Request blocked.","o:errorCode":"CONCURRENCY_LIMIT_EXCEEDED"}]}`}
	unexpected = answer{status: 500, body: `{"status":500,"o:errorDetails":[{"detail":"An unexpected error occurred. Error ID: abc","o:errorCode":"UNEXPECTED_ERROR"}]}`}
	answeredOK = answer{status: 200, body: okPage}
)

func (a answer) with(retryAfter string) answer { a.retryAfter = retryAfter; return a }

// TestRetriesGoByTime: a request is retried until the policy's MaxElapsed has passed
// since its first attempt, each backoff at most MaxDelay, Retry-After honoured unless it
// asks for more than the budget has left; authentication failures are not retried.
func TestRetriesGoByTime(t *testing.T) {
	const budget = 15 * time.Minute
	cases := []struct {
		name     string
		answer   func(n int) answer
		attempts int           // server calls; 0: more than 8 (the old cap), not counted exactly
		waits    time.Duration // total wait; -1: not exact (jittered), only under the budget
		class    error         // nil: success
		want     []string      // in the error
	}{
		{"429 for twenty attempts, then answered", func(n int) answer {
			if n <= 20 {
				return throttled
			}
			return answeredOK
		}, 21, -1, nil, nil},
		{"500 forever: gives up when the budget is spent", func(int) answer { return unexpected }, 0, budget, ErrTransient,
			[]string{"gave up after", "in 15m0s (retry budget 15m0s)", "UNEXPECTED_ERROR"}},
		{"dropped connections, then answered", func(n int) answer {
			if n <= 3 {
				return answer{status: drop}
			}
			return answeredOK
		}, 4, -1, nil, nil},
		{"Retry-After in seconds", func(n int) answer {
			if n == 1 {
				return throttled.with("90")
			}
			return answeredOK
		}, 2, 90 * time.Second, nil, nil},
		{"Retry-After as an HTTP date", func(n int) answer {
			if n == 1 {
				return answer{status: 503, body: "<html>busy</html>"}.with(clockStart.Add(45 * time.Second).Format(http.TimeFormat))
			}
			return answeredOK
		}, 2, 45 * time.Second, nil, nil},
		{"Retry-After beyond the budget: gives up at once, saying so", func(int) answer { return throttled.with("3600") }, 1, 0, ErrTransient,
			[]string{"gave up after 1 attempts", "asks to wait 1h0m0s", "longer than the 15m0s left of the 15m0s retry budget", "CONCURRENCY_LIMIT_EXCEEDED"}},
		{"401 INVALID_LOGIN is not retried", func(int) answer {
			return answer{status: 401, body: `{"status":401,"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}`}
		}, 1, 0, ErrAuth, []string{"INVALID_LOGIN"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := tc.answer(int(calls.Add(1)))
				if a.status == drop {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				if a.retryAfter != "" {
					w.Header().Set("Retry-After", a.retryAfter)
				}
				w.WriteHeader(a.status)
				io.WriteString(w, a.body)
			}))
			defer srv.Close()
			clock := &fakeClock{now: clockStart}
			c, err := NewClient(srv.URL, srv.Client(), RetryPolicy{MaxElapsed: budget, Now: clock.Now, Sleep: clock.Sleep}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SuiteQL(context.Background(), "q", 1000, 0)
			switch {
			case tc.class == nil && err != nil:
				t.Fatalf("err = %v, want success", err)
			case tc.class != nil && !errors.Is(err, tc.class):
				t.Fatalf("err = %v, want class %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			n := int(calls.Load())
			if tc.attempts > 0 && n != tc.attempts || tc.attempts == 0 && n <= 8 {
				t.Errorf("%d attempts, want %d (0: more than 8)", n, tc.attempts)
			}
			sum, waits, longest := clock.slept()
			if waits != n-1 && tc.class == nil {
				t.Errorf("%d waits for %d attempts", waits, n)
			}
			if tc.waits >= 0 && sum != tc.waits {
				t.Errorf("waited %v in all, want %v", sum, tc.waits)
			}
			if sum > budget {
				t.Errorf("waited %v, beyond the %v budget", sum, budget)
			}
			if tc.waits < 0 && longest > time.Minute {
				t.Errorf("a backoff of %v, want at most 60s", longest)
			}
			if s := c.Stats(); s.Retries != int64(waits) {
				t.Errorf("stats count %d retries, %d waits", s.Retries, waits)
			}
		})
	}
}

// TestCancelStopsTheWaitAtOnce: a request waiting out an hour's backoff returns as soon as
// its context is cancelled, classified as interrupted.
func TestCancelStopsTheWaitAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(first) })
		w.WriteHeader(503)
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, srv.Client(), RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour, MaxElapsed: 24 * time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-first
		cancel()
	}()
	if _, err := c.SuiteQL(ctx, "q", 1000, 0); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
}

func TestRetryAfterValues(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{" 120 ", 2 * time.Minute},
		{clockStart.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{clockStart.Add(-time.Hour).Format(http.TimeFormat), 0}, // in the past: now
		{"soon", 0},
		{"99999999999999", 1e9 * time.Second},
	} {
		if got := retryAfter(tc.header).wait(clockStart); got != tc.want {
			t.Errorf("Retry-After %q = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// TestRetryLogWarnsOncePerMinute: retries are summarised in at most one warning a minute,
// counting the retries since the previous warning and naming the last failure.
func TestRetryLogWarnsOncePerMinute(t *testing.T) {
	var buf bytes.Buffer
	l := NewRetryLog(slog.New(slog.NewTextHandler(&buf, nil)).With("stream", "task"))
	throttledErr := (&APIError{Status: 429, Code: "CONCURRENCY_LIMIT_EXCEEDED"}).classify()
	dropped := errors.New("transient error: POST /suiteql: connection reset by peer")
	for _, at := range []struct {
		sec int
		err error
	}{{0, throttledErr}, {10, throttledErr}, {20, throttledErr}, {59, dropped}, {61, throttledErr}, {62, throttledErr}, {100, dropped}, {125, unexpectedErr()}} {
		l.note(clockStart.Add(time.Duration(at.sec)*time.Second), "POST /services/rest/query/v1/suiteql?limit=1000&offset=0", at.err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`msg="NetSuite is refusing requests: 1 retry in the last 1s, last: 429 CONCURRENCY_LIMIT_EXCEEDED" stream=task retries=1 window=1s last_error="429 CONCURRENCY_LIMIT_EXCEEDED" last_request="POST /services/rest/query/v1/suiteql?limit=1000&offset=0"`,
		`msg="NetSuite is refusing requests: 4 retries in the last 1m1s, last: 429 CONCURRENCY_LIMIT_EXCEEDED" stream=task retries=4`,
		`msg="NetSuite is refusing requests: 3 retries in the last 1m4s, last: 500 UNEXPECTED_ERROR" stream=task retries=3`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d warnings, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], w) {
			t.Errorf("warning %d = %s\nwant it to contain %s", i, lines[i], w)
		}
	}
}

func unexpectedErr() error {
	return (&APIError{Status: 500, Code: "UNEXPECTED_ERROR"}).classify()
}

// TestRetriesLogToTheContextsRetryLog: a request whose context carries a RetryLog reports
// its retries there (a pipeline's per-stream log); each retry is also a debug line.
func TestRetriesLogToTheContextsRetryLog(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(429)
			io.WriteString(w, throttled.body)
			return
		}
		io.WriteString(w, okPage)
	}))
	defer srv.Close()
	var clientLog, streamLog bytes.Buffer
	clock := &fakeClock{now: clockStart}
	c, err := NewClient(srv.URL, srv.Client(), RetryPolicy{Now: clock.Now, Sleep: clock.Sleep},
		slog.New(slog.NewTextHandler(&clientLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRetryLog(context.Background(), NewRetryLog(slog.New(slog.NewTextHandler(&streamLog, nil)).With("stream", "contact")))
	if _, err := c.SuiteQL(ctx, "q", 1000, 0); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(clientLog.String(), "level=DEBUG msg=\"retrying NetSuite request\""); n != 2 {
		t.Errorf("%d debug lines, want 2:\n%s", n, clientLog.String())
	}
	if strings.Contains(clientLog.String(), "level=WARN") {
		t.Errorf("the client warned although the context carries a RetryLog:\n%s", clientLog.String())
	}
	if n := strings.Count(streamLog.String(), "level=WARN"); n != 1 || !strings.Contains(streamLog.String(), "stream=contact") {
		t.Errorf("stream log, want one warning naming the stream:\n%s", streamLog.String())
	}
}
