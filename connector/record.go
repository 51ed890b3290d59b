package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// recordTypes are the REST record API's type ids of the streams (../shared/netsuite-api.md
// §3 names them as the SuiteQL tables are named). deletedrecord has none.
var recordTypes = map[string]string{
	Customer:      "customer",
	Contact:       "contact",
	CalendarEvent: "calendarevent",
	Task:          "task",
	PhoneCall:     "phonecall",
}

// RecordType returns the REST record API type of a SuiteQL table, if the API has one.
func RecordType(table string) (string, bool) {
	t, ok := recordTypes[table]
	return t, ok
}

// recordTimeLayouts are the shapes a REST datetime is accepted in. NetSuite documents ISO
// 8601 in UTC ("2017-07-21T17:32:28Z"); fractional seconds and explicit offsets, with or
// without a colon, are read too.
var recordTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// RecordLastModified reads one record's lastModifiedDate through the REST record API
// (GET /services/rest/record/v1/{type}/{id}?fields=lastModifiedDate). The REST API
// returns datetimes as UTC instants, so this tells the two occurrences of a wall time in
// the repeated autumn hour apart, which TO_CHAR text cannot.
//
// Errors keep the client's classes, with two exceptions that mean "the record API cannot
// answer this" rather than a failed login or a broken request: a 403 (the role may use
// SuiteQL but not this record type) is a configuration error, and a response without a
// readable lastModifiedDate is a data error. A 404 (NONEXISTENT_ID: the record was deleted,
// or the type is unknown) is a configuration error, as every 4xx is.
func (c *Client) RecordLastModified(ctx context.Context, recordType string, id int64) (time.Time, error) {
	if !validRecordType(recordType) {
		return time.Time{}, fmt.Errorf("%w: record type %q is not a REST record type id", ErrConfig, recordType)
	}
	endpoint := fmt.Sprintf("%s/services/rest/record/v1/%s/%d?fields=lastModifiedDate", c.baseURL, recordType, id)
	var raw *string
	err := c.do(ctx, http.MethodGet, endpoint, nil, func(b []byte) error {
		var v struct {
			LastModifiedDate *string `json:"lastModifiedDate"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err // a body cut short: retried
		}
		raw = v.LastModifiedDate
		return nil
	})
	if err != nil {
		var ae *APIError
		if errors.Is(err, ErrAuth) && errors.As(err, &ae) && ae.Status == http.StatusForbidden {
			err = fmt.Errorf("%w: %w", ErrConfig, ae)
		}
		return time.Time{}, fmt.Errorf("reading %s %d through the REST record API: %w", recordType, id, err)
	}
	if raw == nil {
		return time.Time{}, fmt.Errorf("%w: the REST record API returned %s %d without lastModifiedDate", ErrData, recordType, id)
	}
	for _, layout := range recordTimeLayouts {
		if t, err := time.Parse(layout, *raw); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: the REST record API returned %s %d with lastModifiedDate %q, which is not ISO 8601", ErrData, recordType, id, truncateText(*raw, 40))
}

// validRecordType admits the ids NetSuite uses (letters, digits, underscore), so that
// nothing else can reach the URL path.
func validRecordType(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// truncateText bounds a value quoted in an error message.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return snippet([]byte(s[:n])) + "…"
}
