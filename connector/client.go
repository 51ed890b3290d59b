package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// PageSize is NetSuite's maximum SuiteQL page; offsets must be multiples of it.
const PageSize = 1000

// maxBody bounds one response so a broken proxy cannot exhaust memory. A full page of
// 1000 rows with a few long text fields stays far below it.
const maxBody = 512 << 20

// DefaultRetryMaxElapsed is how long one request is retried by default. A 429 means other
// integrations hold the account's concurrency slots, and that can last minutes.
const DefaultRetryMaxElapsed = 15 * time.Minute

// RetryPolicy bounds how a request is retried: until MaxElapsed has passed since its first
// attempt, waiting an exponential backoff with full jitter (capped at MaxDelay) between
// attempts, or what NetSuite's Retry-After asks for.
type RetryPolicy struct {
	MaxElapsed time.Duration // retry until this long after the first attempt; default 15m
	BaseDelay  time.Duration // first backoff ceiling; default 1s
	MaxDelay   time.Duration // one backoff wait at most; default 60s
	// MaxAttempts also caps the attempts (the first included); 0, the default: no cap.
	// A run goes by time alone; tests set it to count attempts exactly.
	MaxAttempts int
	// Now and Sleep stand in for the clock and the wait between attempts (tests); nil:
	// time.Now, and a timer that the context stops at once.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultRetryMaxElapsed
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = time.Minute
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	return p
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// backoff is the wait before attempt n+1 (n ≥ 1): full jitter over an exponential ceiling.
func (p RetryPolicy) backoff(n int) time.Duration {
	ceiling := p.BaseDelay << min(n-1, 20)
	if ceiling > p.MaxDelay || ceiling <= 0 {
		ceiling = p.MaxDelay
	}
	return rand.N(ceiling + 1)
}

// Client is a SuiteQL client for one account. Its HTTP client carries authentication and
// the account-wide concurrency limit.
type Client struct {
	baseURL string
	http    *http.Client
	retry   RetryPolicy
	log     *slog.Logger
	retries *RetryLog // for requests whose context carries none (WithRetryLog)

	requests atomic.Int64 // attempts sent, retries included
	retried  atomic.Int64
	limiter  *Limiter     // reported by Stats; set before the first request
	bodySize atomic.Int64 // the largest response body read so far: see readBody
}

// maxPresized bounds the buffer readBody sets aside before a body arrives.
const maxPresized = 32 << 20

// readBody reads a response whole (up to maxBody+1 bytes) into one buffer of the size
// the response declares, or else (a compressed or chunked answer) of the largest body
// read so far, since a run's pages are alike: io.ReadAll would copy a page of a
// megabyte through a dozen doublings.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	size := c.bodySize.Load()
	if n := resp.ContentLength; n >= 0 {
		size = n
	}
	// A declared length is trusted only so far: beyond, the buffer grows as data comes.
	buf := bytes.NewBuffer(make([]byte, 0, min(size, maxPresized)+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	for n := int64(buf.Len()); ; {
		seen := c.bodySize.Load()
		if n <= seen || c.bodySize.CompareAndSwap(seen, n) {
			break
		}
	}
	return buf.Bytes(), err
}

// NewClient returns a client for baseURL (https://<host-id>.suitetalk.api.netsuite.com).
func NewClient(baseURL string, hc *http.Client, retry RetryPolicy, log *slog.Logger) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: NETSUITE_BASE_URL %q is not an http(s) URL", ErrConfig, baseURL)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{baseURL: u.String(), http: hc, retry: retry.withDefaults(), log: log, retries: NewRetryLog(log)}, nil
}

// Stats are the client's request counters.
type Stats struct {
	Requests, Retries int64 // attempts sent (retries included; token requests not), retries
	// Concurrency is the request limit's ceiling (NETSUITE_CONCURRENCY) and
	// ConcurrencyLowest the lowest it was lowered to after NetSuite's 429s; Throttled
	// counts those answers, token requests included. Zero without ReportLimiter.
	Concurrency, ConcurrencyLowest int
	Throttled                      int64
}

func (c *Client) Stats() Stats {
	s := Stats{Requests: c.requests.Load(), Retries: c.retried.Load()}
	if c.limiter != nil {
		ls := c.limiter.Stats()
		s.Concurrency, s.ConcurrencyLowest, s.Throttled = ls.Max, ls.Lowest, ls.Throttled
	}
	return s
}

// ReportLimiter makes Stats include l, the limit in the client's transport. Call it
// before the first request.
func (c *Client) ReportLimiter(l *Limiter) { c.limiter = l }

// SuiteQL runs one page of query q: limit rows (1..PageSize) from offset, which NetSuite
// requires to be a multiple of limit.
func (c *Client) SuiteQL(ctx context.Context, q string, limit, offset int) (*Page, error) {
	if limit < 1 || limit > PageSize || offset < 0 || offset%limit != 0 {
		return nil, fmt.Errorf("SuiteQL limit %d offset %d: limit must be 1..%d and offset a non-negative multiple of it", limit, offset, PageSize)
	}
	endpoint := fmt.Sprintf("%s/services/rest/query/v1/suiteql?limit=%d&offset=%d", c.baseURL, limit, offset)
	body, err := json.Marshal(map[string]string{"q": q})
	if err != nil {
		return nil, err
	}
	decode := DecodePage
	if ctx.Value(columnsWanted{}) != nil {
		decode = DecodePageItems
	}
	var page *Page
	err = c.do(ctx, http.MethodPost, endpoint, body, func(b []byte) error {
		p, err := decode(b)
		page = p
		return err
	})
	return page, err
}

// SessionTimeZone asks NetSuite which zone TO_CHAR and TO_TIMESTAMP use in this session.
// NetSuite ignores an alias on SESSIONTIMEZONE (the key comes back as expr1), so the
// single value is read whatever its key.
func (c *Client) SessionTimeZone(ctx context.Context) (*time.Location, string, error) {
	p, err := c.SuiteQL(ctx, "SELECT SESSIONTIMEZONE FROM DUAL", 1, 0)
	if err != nil {
		return nil, "", fmt.Errorf("reading the session time zone: %w", err)
	}
	if len(p.Items) != 1 || len(p.Items[0]) != 1 {
		return nil, "", fmt.Errorf("%w: SELECT SESSIONTIMEZONE FROM DUAL returned %d rows, want one value; set NETSUITE_TIMEZONE", ErrData, len(p.Items))
	}
	var v string
	for _, only := range p.Items[0] {
		v = only
	}
	loc, err := ParseSessionZone(v)
	if err != nil {
		return nil, v, fmt.Errorf("%w: session time zone: %w; set NETSUITE_TIMEZONE", ErrData, err)
	}
	return loc, v, nil
}

// ServerTime asks NetSuite for its clock, the reference the watermark is taken from so
// that a skewed local clock cannot move it past rows NetSuite has not yet shown us.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := c.do(ctx, http.MethodGet, c.baseURL+"/services/rest/system/v1/serverTime", nil, func(b []byte) error {
		var v struct {
			ServerTime string `json:"serverTime"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		parsed, err := time.Parse(time.RFC3339Nano, v.ServerTime)
		if err != nil {
			return fmt.Errorf("serverTime %q: %w", v.ServerTime, err)
		}
		t = parsed.UTC()
		return nil
	})
	return t, err
}

type columnsWanted struct{}

// ItemsContext asks the client for pages decoded column by column (Page.Cols instead of
// Page.Items), for a caller that converts every row: no map per row. A Source other than
// Client may ignore it and fill Items.
func ItemsContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, columnsWanted{}, true)
}

type probing struct{}

// ProbeContext marks ctx for probes: queries expected to fail, whose failing answer is
// what they ask for. A 5xx answer is taken at once rather than waited out through the
// retry policy; throttling (429) and lost connections are still retried, because they
// say nothing about the query.
func ProbeContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, probing{}, true)
}

// answered reports a server error NetSuite gave about the request itself.
func answered(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status >= 500 && ae.Code != "CONCURRENCY_LIMIT_EXCEEDED"
}

// do sends one logical request, retrying what may succeed later until the policy's
// MaxElapsed has passed since the first attempt. The request is rebuilt for every attempt
// so that signatures and tokens are fresh.
func (c *Client) do(ctx context.Context, method, endpoint string, body []byte, decode func([]byte) error) error {
	shown := redactURL(endpoint)
	p := c.retry
	start := p.Now()
	deadline := start.Add(p.MaxElapsed)
	rl := retryLogFrom(ctx)
	if rl == nil {
		rl = c.retries
	}
	interrupted := func() error {
		return fmt.Errorf("%w: %s %s: %w", ErrInterrupted, method, shown, context.Cause(ctx))
	}
	for attempt := 1; ; attempt++ {
		after, err := c.attempt(ctx, method, endpoint, shown, body, decode)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return interrupted()
		}
		if !errors.Is(err, ErrTransient) {
			return err
		}
		now := p.Now()
		elapsed := now.Sub(start).Round(time.Millisecond)
		left := deadline.Sub(now)
		if ctx.Value(probing{}) != nil && answered(err) {
			return fmt.Errorf("gave up after %d attempts in %s: %w", attempt, elapsed, err)
		}
		if (p.MaxAttempts > 0 && attempt >= p.MaxAttempts) || left <= 0 {
			return fmt.Errorf("gave up after %d attempts in %s (retry budget %s): %w", attempt, elapsed, p.MaxElapsed, err)
		}
		wait := min(p.backoff(attempt), left)
		if ra := after.wait(now); ra > 0 {
			if ra > left {
				return fmt.Errorf("gave up after %d attempts in %s: NetSuite asks to wait %s before retrying, longer than the %s left of the %s retry budget: %w",
					attempt, elapsed, ra.Round(time.Second), left.Round(time.Second), p.MaxElapsed, err)
			}
			wait = ra // the server knows when it will have room
		}
		c.retried.Add(1)
		c.log.Debug("retrying NetSuite request", "method", method, "url", shown, "attempt", attempt,
			"wait", wait.Round(time.Millisecond).String(), "elapsed", elapsed.String(), "error", err.Error())
		rl.note(now, method+" "+shown, err)
		if err := p.Sleep(ctx, wait); err != nil || ctx.Err() != nil {
			return interrupted()
		}
	}
}

func (c *Client) attempt(ctx context.Context, method, endpoint, shown string, body []byte, decode func([]byte) error) (retryAfter, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return "", err
	}
	if body != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Prefer", "transient")
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrAuth) || errors.Is(err, ErrConfig) {
			return "", err
		}
		// Timeouts, resets and refused connections: the request may succeed later.
		return "", fmt.Errorf("%w: %s %s: %w", ErrTransient, method, shown, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := c.readBody(resp)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: reading response: %w", ErrTransient, method, shown, err)
	}
	if len(b) > maxBody {
		return "", fmt.Errorf("%w: %w", ErrData, &ResponseError{Method: method, URL: shown, Reason: fmt.Sprintf("body larger than %d bytes", maxBody)})
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := parseAPIError(method, shown, resp.StatusCode, b)
		return retryAfter(resp.Header.Get("Retry-After")), apiErr.classify()
	}
	if err := decode(b); err != nil {
		var ie *ItemError
		if errors.As(err, &ie) {
			// Sound JSON with an unusable value: asking again returns the same row.
			return "", fmt.Errorf("%w: %s %s: %w", ErrData, method, shown, ie)
		}
		// A 200 with a body we cannot use is most often a proxy or a cut connection.
		return "", fmt.Errorf("%w: %w", ErrTransient, &ResponseError{Method: method, URL: shown, Reason: err.Error()})
	}
	return "", nil
}

// parseAPIError reads NetSuite's error shape, falling back to a short, printable snippet.
func parseAPIError(method, shown string, status int, body []byte) *APIError {
	e := &APIError{Method: method, URL: shown, Status: status}
	var v struct {
		Title   string `json:"title"`
		Code    string `json:"o:errorCode"`
		Details []struct {
			Detail string `json:"detail"`
			Code   string `json:"o:errorCode"`
		} `json:"o:errorDetails"`
		Error     string `json:"error"`
		ErrorDesc string `json:"error_description"`
	}
	if json.Unmarshal(body, &v) == nil {
		e.Code = v.Code
		if len(v.Details) > 0 {
			e.Detail = v.Details[0].Detail
			if v.Details[0].Code != "" {
				e.Code = v.Details[0].Code
			}
		}
		if e.Code == "" && v.Error != "" {
			e.Code, e.Detail = v.Error, v.ErrorDesc
		}
		if e.Detail == "" {
			e.Detail = v.Title
		}
		return e
	}
	e.Detail = snippet(body)
	return e
}

// snippet is a one-line, printable, bounded excerpt of a body that is not JSON.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b[:min(len(b), 400)]), "?")), " ")
	if len(s) > 160 {
		cut := 160
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// retryAfter is a Retry-After header: delay-seconds or an HTTP date.
type retryAfter string

// wait is how long the header asks to wait from now; 0 if it asks nothing usable.
func (v retryAfter) wait(now time.Time) time.Duration {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		// Capped below overflow: any such wait is beyond every retry budget anyway.
		return time.Duration(min(max(n, 0), 1e9)) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// redactURL keeps what identifies a request (path, limit, offset) and nothing else.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	q := u.Query()
	keep := url.Values{}
	for _, k := range []string{"limit", "offset"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	u.RawQuery = keep.Encode()
	return u.String()
}

// unwrapURLError drops *url.Error's copy of the URL, which we already print redacted.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
