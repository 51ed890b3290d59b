package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// retryWarnEvery is how often a RetryLog warns at most.
const retryWarnEvery = time.Minute

// RetryLog tells the operator that NetSuite keeps refusing requests without a line per
// retry: each retry is logged at debug by the client, and the RetryLog warns at most once a
// minute with a summary. A pipeline gives each stream its own (WithRetryLog), so a warning
// names the stream that waits; requests without one share the client's.
type RetryLog struct {
	log *slog.Logger

	mu     sync.Mutex
	count  int       // retries since the last warning
	first  time.Time // of those retries
	warned time.Time // last warning; zero: none yet
}

// NewRetryLog returns a RetryLog that warns on log (nil: discards).
func NewRetryLog(log *slog.Logger) *RetryLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RetryLog{log: log}
}

type retryLogKey struct{}

// WithRetryLog makes the client report the retries of requests made with ctx to l.
func WithRetryLog(ctx context.Context, l *RetryLog) context.Context {
	return context.WithValue(ctx, retryLogKey{}, l)
}

func retryLogFrom(ctx context.Context) *RetryLog {
	l, _ := ctx.Value(retryLogKey{}).(*RetryLog)
	return l
}

// note counts a retry at now of request (method and redacted URL) caused by err, and
// warns if the last warning is a minute old.
func (l *RetryLog) note(now time.Time, request string, err error) {
	l.mu.Lock()
	if l.count == 0 {
		l.first = now
	}
	l.count++
	if !l.warned.IsZero() && now.Sub(l.warned) < retryWarnEvery {
		l.mu.Unlock()
		return
	}
	n, since := l.count, l.first
	if !l.warned.IsZero() {
		since = l.warned
	}
	l.count, l.warned = 0, now
	l.mu.Unlock()
	window := max(now.Sub(since), time.Second).Round(time.Second)
	last := retryReason(err)
	l.log.Warn(fmt.Sprintf("NetSuite is refusing requests: %s in the last %s, last: %s", plural(n, "retry", "retries"), window, last),
		"retries", n, "window", window.String(), "last_error", last, "last_request", request)
}

// retryReason is a short name of why a request failed: status and NetSuite's code, or
// the transport's error.
func retryReason(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Code != "" {
			return fmt.Sprintf("%d %s", ae.Status, ae.Code)
		}
		return fmt.Sprintf("HTTP %d", ae.Status)
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return "unusable response: " + re.Reason
	}
	return strings.TrimPrefix(err.Error(), ErrTransient.Error()+": ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
