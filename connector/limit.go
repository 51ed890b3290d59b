package connector

import (
	"io"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// LimitTransport holds one slot of sem for every request from send until its body is
// closed, so that all streams and token requests together never exceed the account's
// concurrency limit, which NetSuite shares with every other integration.
func LimitTransport(base http.RoundTripper, sem *semaphore.Weighted) http.RoundTripper {
	return &limitTransport{base: base, sem: sem}
}

type limitTransport struct {
	base http.RoundTripper
	sem  *semaphore.Weighted
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.sem.Acquire(req.Context(), 1); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.sem.Release(1)
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { t.sem.Release(1) }}
	return resp, nil
}

type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
