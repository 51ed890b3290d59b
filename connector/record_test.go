package connector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRecordType(t *testing.T) {
	for _, s := range StreamNames {
		if rt, ok := RecordType(s); !ok || rt != s {
			t.Errorf("RecordType(%q) = %q, %v", s, rt, ok)
		}
	}
	if _, ok := RecordType("deletedrecord"); ok {
		t.Errorf("deletedrecord has a record type")
	}
}

func TestRecordLastModifiedSendsNetSuiteRequest(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/services/rest/record/v1/task/4711" ||
			r.URL.Query().Get("fields") != "lastModifiedDate" || r.Header.Get("Accept") != "application/json" {
			t.Errorf("unexpected request %s %s %v", r.Method, r.URL, r.Header)
		}
		io.WriteString(w, `{"links":[{"rel":"self","href":"https://x/services/rest/record/v1/task/4711"}],"id":"4711","lastModifiedDate":"2024-11-03T09:10:00Z"}`)
	})
	got, err := c.RecordLastModified(context.Background(), "task", 4711)
	if want := time.Date(2024, 11, 3, 9, 10, 0, 0, time.UTC); err != nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("RecordLastModified = %v, %v; want %v", got, err, want)
	}
}

func TestRecordLastModifiedReadsISO8601Variants(t *testing.T) {
	want := time.Date(2024, 11, 3, 9, 10, 5, 0, time.UTC)
	for raw, exact := range map[string]time.Time{
		"2024-11-03T09:10:05Z":           want,
		"2024-11-03T09:10:05.000Z":       want,
		"2024-11-03T09:10:05.25Z":        want.Add(250 * time.Millisecond),
		"2024-11-03T01:10:05-08:00":      want,
		"2024-11-03T01:10:05.000-0800":   want,
		"2024-11-03T10:10:05+01:00":      want,
		"2024-11-03T09:10:05.123456789Z": want.Add(123456789),
	} {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"id":"1","lastModifiedDate":"`+raw+`"}`)
		})
		got, err := c.RecordLastModified(context.Background(), "customer", 1)
		if err != nil || !got.Equal(exact) || got.Location() != time.UTC {
			t.Errorf("%s: got %v, %v; want %v", raw, got, err, exact)
		}
	}
}

func TestRecordLastModifiedErrors(t *testing.T) {
	nsError := func(status int, code, detail string) string {
		return `{"type":"x","title":"t","status":` + strconv.Itoa(status) + `,"o:errorDetails":[{"detail":"` + detail + `","o:errorCode":"` + code + `"}]}`
	}
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		class   error
		retried bool
	}{
		{"missing record", 404, nsError(404, "NONEXISTENT_ID", "The record instance does not exist."), ErrConfig, false},
		{"role lacks the record type", 403, nsError(403, "INSUFFICIENT_PERMISSION", "Permission Violation"), ErrConfig, false},
		{"bad request", 400, nsError(400, "INVALID_PARAMETER", "Invalid parameter fields"), ErrConfig, false},
		{"login refused", 401, nsError(401, "INVALID_LOGIN", "Invalid login attempt."), ErrAuth, false},
		{"no lastModifiedDate", 200, `{"id":"1"}`, ErrData, false},
		{"null lastModifiedDate", 200, `{"id":"1","lastModifiedDate":null}`, ErrData, false},
		{"display text", 200, `{"id":"1","lastModifiedDate":"11/3/2024 1:10 am"}`, ErrData, false},
		{"body cut short", 200, `{"id":"1","lastModi`, ErrTransient, true},
		{"server error", 503, `<html>busy</html>`, ErrTransient, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := c.RecordLastModified(context.Background(), "contact", 12)
			if !errors.Is(err, tc.class) {
				t.Fatalf("err = %v, want %v", err, tc.class)
			}
			for _, other := range []error{ErrConfig, ErrAuth, ErrData, ErrTransient} {
				if other != tc.class && errors.Is(err, other) {
					t.Errorf("err = %v is also %v", err, other)
				}
			}
			if !strings.Contains(err.Error(), "contact 12") {
				t.Errorf("err = %v does not name the record", err)
			}
			var ae *APIError
			if tc.status >= 400 && tc.status < 500 && (!errors.As(err, &ae) || ae.Status != tc.status || ae.Code == "") {
				t.Errorf("err = %v does not carry NetSuite's error", err)
			}
			if n := calls.Load(); (n > 1) != tc.retried {
				t.Errorf("%d attempts; retried = %v", n, tc.retried)
			}
		})
	}
}

func TestRecordLastModifiedRefusesOddRecordTypes(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s", r.URL)
	})
	for _, typ := range []string{"", "task/1", "../query", "task?x=1", "täsk"} {
		if _, err := c.RecordLastModified(context.Background(), typ, 1); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: err = %v, want a configuration error", typ, err)
		}
	}
}
