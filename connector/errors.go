// Package connector talks to NetSuite: the SuiteQL client, the stream declarations and
// the incremental query plan. It knows nothing about files; connector/pipeline wires it to
// the sink and the state file.
package connector

import (
	"errors"
	"fmt"
	"strings"
)

// Error classes. Every error that leaves the connector wraps exactly one of them so the
// CLI can choose an exit code with errors.Is.
var (
	ErrConfig      = errors.New("configuration error")
	ErrAuth        = errors.New("authentication error")
	ErrTransient   = errors.New("transient error")
	ErrData        = errors.New("data error")
	ErrInterrupted = errors.New("interrupted")
)

// APIError is a non-2xx answer from NetSuite, decoded from its REST error shape when the
// body has one.
type APIError struct {
	Method, URL string // the request; the URL carries no secrets (auth is in headers)
	Status      int
	Code        string // o:errorCode, e.g. INVALID_PARAMETER, CONCURRENCY_LIMIT_EXCEEDED
	Detail      string // first o:errorDetails detail, or a snippet of a non-JSON body
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later.
func (e *APIError) Retryable() bool {
	switch e.Status {
	case 429, 500, 502, 503, 504:
		return true
	}
	return e.Code == "CONCURRENCY_LIMIT_EXCEEDED"
}

// classify wraps err in the class its status implies.
func (e *APIError) classify() error {
	switch {
	case e.Status == 401 || e.Status == 403:
		return fmt.Errorf("%w: %w", ErrAuth, e)
	case e.Retryable():
		return fmt.Errorf("%w: %w", ErrTransient, e)
	case e.Status >= 400 && e.Status < 500:
		// A rejected query means a missing permission or feature, or a column the account
		// lacks: something the user fixes in NetSuite or in the configuration.
		return fmt.Errorf("%w: %w", ErrConfig, e)
	default:
		return fmt.Errorf("%w: %w", ErrTransient, e)
	}
}

// ResponseError is a 2xx answer that is not a valid SuiteQL page.
type ResponseError struct {
	Method, URL string
	Reason      string
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("%s %s: unusable response: %s", e.Method, e.URL, e.Reason)
}
