package netsuitetest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// recordPathPrefix is the REST record API: GET {prefix}{type}/{id}.
const recordPathPrefix = "/services/rest/record/v1/"

// recordTypes maps the REST record type ids the fake serves to their SuiteQL
// tables (../shared/netsuite-api.md §3 gives the same ids for both).
var recordTypes = map[string]string{
	"customer":      "customer",
	"contact":       "contact",
	"calendarevent": "calendarevent",
	"task":          "task",
	"phonecall":     "phonecall",
}

// recordRoute is r.URL.Path when it is a REST record API path, so that
// ServeHTTP's switch on the path can route it with a single case.
func recordRoute(path string) string {
	if strings.HasPrefix(path, recordPathPrefix) {
		return path
	}
	return "\x00not a record path"
}

// handleRecord serves GET /services/rest/record/v1/{type}/{id}: the record's
// id and lastModifiedDate (ISO 8601, UTC, seconds), whatever ?fields= asks
// for beyond them. Other fields and sub-resources are not modelled. With
// Options.NoRecordAPI the role may not use the record API at all.
func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) {
	s.countRecordRequest()
	if !s.getAuthorized(w, r) {
		return
	}
	if s.opts.NoRecordAPI {
		writeNSError(w, http.StatusForbidden, "INSUFFICIENT_PERMISSION",
			"Permission Violation: You need the 'REST Web Services' permission to access this page. Please contact your account administrator.")
		return
	}
	typ, rawID, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, recordPathPrefix), "/")
	table, known := recordTypes[typ]
	if !ok || !known || strings.Contains(rawID, "/") {
		writeNSError(w, http.StatusNotFound, "NONEXISTENT_ID",
			fmt.Sprintf("The requested resource %s was not found.", r.URL.Path))
		return
	}
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || id <= 0 {
		writeNSError(w, http.StatusNotFound, "NONEXISTENT_ID",
			"The record instance does not exist. Provide a valid record instance ID.")
		return
	}
	lmd, exists, set := s.lastModified(table, id)
	if !exists {
		writeNSError(w, http.StatusNotFound, "NONEXISTENT_ID",
			"The record instance does not exist. Provide a valid record instance ID.")
		return
	}
	self := s.ts.URL + recordPathPrefix + typ + "/" + rawID
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=singular")
	var b []byte
	b = append(b, `{"links":[{"rel":"self","href":`...)
	b = appendJSONString(b, self)
	b = append(b, `}],"id":`...)
	b = appendJSONString(b, strconv.FormatInt(id, 10))
	if set {
		b = append(b, `,"lastModifiedDate":`...)
		b = appendJSONString(b, lmd.UTC().Format("2006-01-02T15:04:05Z"))
	}
	b = append(b, '}')
	_, _ = w.Write(b)
}

// lastModified reads a record's lastmodifieddate under the table lock: exists
// says whether the record does, set whether its date is not NULL.
func (s *Server) lastModified(table string, id int64) (at time.Time, exists, set bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tables[table]
	if !ok {
		return time.Time{}, false, false
	}
	row, ok := t.byID[id]
	if !ok {
		return time.Time{}, false, false
	}
	if ci, has := t.index["lastmodifieddate"]; has {
		if v := t.cols[ci].get(row); !v.null {
			return time.Unix(v.i, 0).UTC(), true, true
		}
	}
	return time.Time{}, true, false
}

func (s *Server) countRecordRequest() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.RecordRequests++
}
