package netsuitetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

type recordBody struct {
	Links []struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	} `json:"links"`
	ID               string  `json:"id"`
	LastModifiedDate *string `json:"lastModifiedDate"`
}

// getRecord sends GET {path} with a bearer token ("" for none).
func getRecord(t *testing.T, s *Server, method, path, token string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	return do(t, req)
}

func TestRecordAPIReturnsLastModifiedDateInUTC(t *testing.T) {
	clock := time.Date(2024, 11, 3, 9, 10, 7, 0, time.UTC) // 01:10:07 PST, the second pass
	s := startServer(t, Options{Now: func() time.Time { return clock }})
	tok := fetchToken(t, s)
	for _, table := range []string{"customer", "contact", "calendarevent", "task", "phonecall"} {
		s.Upsert(table, Row{"id": int64(4711)})
		status, raw, h := getRecord(t, s, http.MethodGet, recordPathPrefix+table+"/4711?fields=lastModifiedDate", tok)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/vnd.oracle.resource+json") {
			t.Fatalf("%s: status %d %v: %s", table, status, h, raw)
		}
		var b recordBody
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s: %v: %s", table, err, raw)
		}
		if b.ID != "4711" || b.LastModifiedDate == nil || *b.LastModifiedDate != "2024-11-03T09:10:07Z" {
			t.Errorf("%s: body %s", table, raw)
		}
		if len(b.Links) != 1 || b.Links[0].Rel != "self" || b.Links[0].Href != s.URL()+recordPathPrefix+table+"/4711" {
			t.Errorf("%s: links %s", table, raw)
		}
	}
	// Without ?fields= the same two fields come back.
	if status, raw, _ := getRecord(t, s, http.MethodGet, recordPathPrefix+"task/4711", tok); status != 200 || !strings.Contains(string(raw), `"lastModifiedDate":"2024-11-03T09:10:07Z"`) {
		t.Errorf("without fields: %d %s", status, raw)
	}
	// An update moves it.
	clock = clock.Add(30 * time.Minute)
	s.Upsert("task", Row{"id": int64(4711), "title": "changed"})
	if _, raw, _ := getRecord(t, s, http.MethodGet, recordPathPrefix+"task/4711", tok); !strings.Contains(string(raw), `"lastModifiedDate":"2024-11-03T09:40:07Z"`) {
		t.Errorf("after update: %s", raw)
	}
	if st := s.Stats(); st.RecordRequests != 7 || len(st.Queries) != 0 {
		t.Errorf("stats: %d record requests, %d queries", st.RecordRequests, len(st.Queries))
	}
	s.ResetStats()
	if s.Stats().RecordRequests != 0 {
		t.Errorf("ResetStats kept the record requests")
	}
}

func TestRecordAPIErrors(t *testing.T) {
	s := startServer(t, Options{})
	tok := fetchToken(t, s)
	s.Upsert("contact", Row{"id": int64(12)})
	s.Upsert("deletedrecord", Row{"recordid": int64(13), "type": "contact"})
	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"missing id", "GET", "contact/13", 404, "NONEXISTENT_ID"},
		{"id of another type", "GET", "customer/12", 404, "NONEXISTENT_ID"},
		{"unknown type", "GET", "widget/12", 404, "NONEXISTENT_ID"},
		{"deletedrecord has no record API", "GET", "deletedrecord/13", 404, "NONEXISTENT_ID"},
		{"type in another case", "GET", "Contact/12", 404, "NONEXISTENT_ID"},
		{"id not a number", "GET", "contact/abc", 404, "NONEXISTENT_ID"},
		{"no id", "GET", "contact", 404, "NONEXISTENT_ID"},
		{"sub-resource", "GET", "contact/12/addressbook", 404, "NONEXISTENT_ID"},
		{"not GET", "PATCH", "contact/12", 405, "INVALID_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, raw, _ := getRecord(t, s, tc.method, recordPathPrefix+tc.path, tok)
			var e nsError
			if err := json.Unmarshal(raw, &e); err != nil || status != tc.status || e.Status != tc.status || e.code() != tc.code {
				t.Errorf("status %d: %s, want %d %s", status, raw, tc.status, tc.code)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		status, raw, h := getRecord(t, s, http.MethodGet, recordPathPrefix+"contact/12", "")
		assertUnauthorized(t, result{status: status, raw: raw, header: h, err: decodeError(t, raw)}, "TSTDRV1234567")
	})
	t.Run("disabled", func(t *testing.T) {
		off := startServer(t, Options{NoRecordAPI: true})
		off.Upsert("contact", Row{"id": int64(12)})
		status, raw, _ := getRecord(t, off, http.MethodGet, recordPathPrefix+"contact/12", fetchToken(t, off))
		if e := decodeError(t, raw); status != http.StatusForbidden || e.code() != "INSUFFICIENT_PERMISSION" {
			t.Errorf("status %d: %s", status, raw)
		}
		if off.Stats().RecordRequests != 1 {
			t.Errorf("a refused request was not counted")
		}
	})
}

func decodeError(t *testing.T, raw []byte) nsError {
	t.Helper()
	var e nsError
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error body: %v: %s", err, raw)
	}
	return e
}

// TestRecordAPIAcceptsTBA: a token-based signature over the record URL, its
// ?fields= query included, is accepted like on every other endpoint.
func TestRecordAPIAcceptsTBA(t *testing.T) {
	now := fixedNow
	s := startServer(t, Options{AccountID: "1234567_SB1", ConsumerKey: tbaCK, ConsumerSecret: tbaCS, TokenID: tbaTK, TokenSecret: tbaTS,
		Now: func() time.Time { return now }})
	s.Upsert("phonecall", Row{"id": int64(5)})
	for _, signQuery := range []bool{true, false} {
		u, _ := url.Parse(s.URL() + recordPathPrefix + "phonecall/5?fields=lastModifiedDate")
		params := map[string]string{"realm": "1234567_SB1", "oauth_consumer_key": tbaCK, "oauth_token": tbaTK,
			"oauth_nonce": fmt.Sprint("nonce-record-", signQuery), "oauth_timestamp": strconv.FormatInt(now.Unix(), 10),
			"oauth_signature_method": "HMAC-SHA256", "oauth_version": "1.0"}
		q := u.Query()
		if !signQuery {
			q = url.Values{}
		}
		sig := tbaSignature(http.MethodGet, "http", u.Host, u.Path, q, params, &tbaConfig{consumerSecret: tbaCS, tokenSecret: tbaTS})
		var b strings.Builder
		fmt.Fprintf(&b, `OAuth realm="%s"`, oauthEscape(params["realm"]))
		for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp", "oauth_signature_method", "oauth_version"} {
			fmt.Fprintf(&b, `, %s="%s"`, k, oauthEscape(params[k]))
		}
		fmt.Fprintf(&b, `, oauth_signature="%s"`, oauthEscape(base64.StdEncoding.EncodeToString(sig)))
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		req.Header.Set("Authorization", b.String())
		status, raw, h := do(t, req)
		switch {
		case signQuery && status != http.StatusOK:
			t.Errorf("signed request refused: %d %s", status, raw)
		case !signQuery && (status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "OAuth")):
			t.Errorf("signature without the query accepted or wrongly refused: %d %v %s", status, h, raw)
		}
	}
}

// TestRecordAPIRacesWithUpserts: the handler reads rows under the server's
// lock (go test -race).
func TestRecordAPIRacesWithUpserts(t *testing.T) {
	s := startServer(t, Options{})
	tok := fetchToken(t, s)
	s.Upsert("task", Row{"id": int64(1)})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			s.Upsert("task", Row{"id": int64(1 + i%3), "title": fmt.Sprint(i)})
			if i%50 == 0 {
				s.Delete("task", int64(2))
			}
		}
	}()
	for i := 0; i < 100; i++ {
		if status, raw, _ := getRecord(t, s, http.MethodGet, recordPathPrefix+"task/1", tok); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, raw)
		}
	}
	<-done
}
