package netsuitetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

const (
	defaultLimit = 1000
	maxLimit     = 1000
	maxResults   = 100_000 // NetSuite serves at most this many rows of one query
	searchPrefix = "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
)

// suiteQLBody is the request body of the query service.
type suiteQLBody struct {
	Q      *string           `json:"q"`
	Params []json.RawMessage `json:"params"`
}

// handleSuiteQL serves one page of a SuiteQL query and returns the status it
// wrote, for the query log. Checks run in the order NetSuite applies them as
// far as known: method, authentication, headers, paging parameters, body,
// then the statement itself.
func (s *Server) handleSuiteQL(w http.ResponseWriter, r *http.Request, body []byte) int {
	if r.Method != http.MethodPost {
		writeMethodNotAllowed(w, http.MethodPost)
		return http.StatusMethodNotAllowed
	}
	if err := s.auth.authenticate(r); err != nil {
		s.auth.writeUnauthorized(w, r)
		return http.StatusUnauthorized
	}
	if !hasPreferTransient(r.Header.Values("Prefer")) {
		return badRequest(w, "INVALID_HEADER", "Invalid header: SuiteQL queries require the header 'Prefer: transient'.")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return badRequest(w, "INVALID_CONTENT", fmt.Sprintf("Invalid content type %q; SuiteQL queries must be sent as application/json.", r.Header.Get("Content-Type")))
	}
	limit, offset, err := pagingParams(r)
	if err != nil {
		return badRequest(w, "INVALID_PARAMETER", err.Error())
	}
	req, binds, err := decodeBody(body)
	if err != nil {
		return badRequest(w, "INVALID_CONTENT", err.Error())
	}
	q, err := parseSuiteQL(req)
	if err != nil {
		return badRequest(w, "INVALID_PARAMETER", searchPrefix+err.Error())
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	env := compileEnv{zone: s.zone, now: s.opts.Now(), binds: binds}
	var p *plan
	srcs, err := s.sources(q)
	switch {
	case err != nil:
	case srcs == nil: // DUAL
		p, err = compile(q, nil, env)
	case len(srcs) == 1:
		env.names = srcs[0].rules
		p, err = compile(q, srcs[0].t, env)
	default:
		p, err = compileJoin(q, srcs, env)
	}
	if errors.Is(err, errUnexpected) {
		// A field that breaks the query fails it whatever it would return.
		writeNSError(w, http.StatusInternalServerError, "UNEXPECTED_ERROR", unexpectedErrorDetail())
		return http.StatusInternalServerError
	}
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return badRequest(w, "INVALID_PARAMETER", searchPrefix+se.msg)
		}
		return badRequest(w, "INVALID_PARAMETER", searchPrefix+err.Error())
	}

	var rows []int32
	var total int
	if p.table == nil {
		total = 1 // DUAL has exactly one row
		if offset == 0 {
			rows = []int32{0}
		}
	} else {
		rows, total = p.selectPage(offset, limit, rand.Uint64())
	}
	out := s.renderPage(p, rows, total, limit, offset)
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=collection")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return http.StatusOK
}

// sources binds the tables of the FROM clause (nil for DUAL). Callers hold
// mu for reading. A table the account lacks is NetSuite's "Record … was not
// found."; with NoAddressPermission the address tables are there but empty.
func (s *Server) sources(q *selectQuery) ([]source, error) {
	from := q.from()
	if q.table == dualTable && len(from) == 1 {
		return nil, nil
	}
	var srcs []source
	for _, tr := range from {
		if tr.name == dualTable {
			return nil, errorf("DUAL cannot be joined in this fake SuiteQL server")
		}
		t, ok := s.tables[tr.name]
		if !ok {
			return nil, errorf("Record '%s' was not found.", tr.name)
		}
		if s.opts.NoAddressPermission && addressTables[tr.name] {
			t = t.emptyView()
		}
		srcs = append(srcs, source{name: tr.name, alias: tr.alias, t: t, rules: s.rulesFor(tr.name)})
	}
	for i := range srcs {
		for j := range i {
			if srcs[i].qual() == srcs[j].qual() {
				return nil, errorf("ORA-00918: '%s' names two tables of the FROM clause; give each a distinct alias", srcs[i].qual())
			}
		}
	}
	return srcs, nil
}

func badRequest(w http.ResponseWriter, code, detail string) int {
	writeNSError(w, http.StatusBadRequest, code, detail)
	return http.StatusBadRequest
}

func hasPreferTransient(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "transient") {
				return true
			}
		}
	}
	return false
}

// pagingParams validates limit and offset: limit 1..1000 (default 1000),
// offset ≥ 0 and a multiple of limit, and offset+limit within the
// 100,000-row window NetSuite will serve for one query.
func pagingParams(r *http.Request) (limit, offset int, err error) {
	qv := r.URL.Query()
	limit, offset = defaultLimit, 0
	if v, ok := qv["limit"]; ok {
		n, perr := strconv.Atoi(v[0])
		if perr != nil {
			return 0, 0, fmt.Errorf("Invalid value for the query parameter 'limit': %q is not an integer.", v[0])
		}
		if n < 1 || n > maxLimit {
			return 0, 0, fmt.Errorf("Invalid value for the query parameter 'limit': %d. The limit must be between 1 and %d.", n, maxLimit)
		}
		limit = n
	}
	if v, ok := qv["offset"]; ok {
		n, perr := strconv.Atoi(v[0])
		if perr != nil {
			return 0, 0, fmt.Errorf("Invalid value for the query parameter 'offset': %q is not an integer.", v[0])
		}
		if n < 0 {
			return 0, 0, fmt.Errorf("Invalid value for the query parameter 'offset': %d. The offset must not be negative.", n)
		}
		offset = n
	}
	if offset%limit != 0 {
		return 0, 0, fmt.Errorf("Invalid value for the query parameter 'offset': %d. The offset must be a multiple of the limit (%d).", offset, limit)
	}
	if offset+limit > maxResults {
		return 0, 0, fmt.Errorf("The query result exceeds %d rows: offset %d + limit %d is past the maximum number of results a query can return. Use a narrower query (for example a keyset on id or lastmodifieddate).", maxResults, offset, limit)
	}
	return limit, offset, nil
}

// decodeBody reads {"q": "...", "params": [...]}. Params are bind values;
// JSON strings and numbers are accepted as text, null as NULL.
func decodeBody(body []byte) (string, []bindValue, error) {
	var b suiteQLBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return "", nil, fmt.Errorf("Invalid JSON in the request body: %v", err)
	}
	if b.Q == nil || strings.TrimSpace(*b.Q) == "" {
		return "", nil, fmt.Errorf("The request body must contain the query in the 'q' property.")
	}
	binds := make([]bindValue, len(b.Params))
	for i, raw := range b.Params {
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return "", nil, fmt.Errorf("Invalid value in params[%d]: %v", i, err)
		}
		switch x := v.(type) {
		case nil:
			binds[i] = bindValue{null: true}
		case string:
			binds[i] = bindValue{text: x}
		case json.Number:
			binds[i] = bindValue{text: x.String()}
		default:
			return "", nil, fmt.Errorf("Invalid value in params[%d]: bind values must be strings or numbers.", i)
		}
	}
	return *b.Q, binds, nil
}

// renderPage builds the collection response.
func (s *Server) renderPage(p *plan, rows []int32, total, limit, offset int) []byte {
	capped := min(total, maxResults)
	count := len(rows)
	hasMore := offset+count < capped

	base := s.URL() + suiteQLPath
	b := make([]byte, 0, 1024+len(rows)*(16+len(p.items)*32))
	b = append(b, `{"links":[`...)
	link := func(rel string, off int) {
		if b[len(b)-1] != '[' {
			b = append(b, ',')
		}
		b = append(b, `{"rel":"`...)
		b = append(b, rel...)
		b = append(b, `","href":`...)
		b = appendJSONString(b, fmt.Sprintf("%s?limit=%d&offset=%d", base, limit, off))
		b = append(b, '}')
	}
	if offset > 0 {
		link("first", 0)
		link("prev", max(0, offset-limit))
	}
	if hasMore {
		link("next", offset+limit)
		link("last", max(0, (capped-1)/limit*limit))
	}
	link("self", offset)
	b = append(b, ']')

	num := func(key string, v int) {
		b = append(b, `,"`...)
		b = append(b, key...)
		b = append(b, `":`...)
		if s.opts.StringEnvelope {
			b = append(b, '"')
		}
		b = strconv.AppendInt(b, int64(v), 10)
		if s.opts.StringEnvelope {
			b = append(b, '"')
		}
	}
	num("count", count)
	b = append(b, `,"hasMore":`...)
	b = strconv.AppendBool(b, hasMore)
	num("offset", offset)
	num("totalResults", total)

	b = append(b, `,"items":[`...)
	rd := s.render
	if p.table == nil {
		rd.sessionTZ = s.sessionTimeZone()
	}
	keys := make([][]byte, len(p.items))
	for i := range p.items {
		keys[i] = appendJSONString(nil, rd.key(p.items[i].key))
	}
	for n, r := range rows {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"links":[]`...)
		for i := range p.items {
			mark := len(b)
			b = append(b, ',')
			b = append(b, keys[i]...)
			b = append(b, ':')
			var ok bool
			if b, ok = rd.appendValue(b, &p.items[i], int(r)); !ok {
				b = b[:mark] // NULL: NetSuite omits the key
			}
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return b
}

// describeQuery builds the log entry of a SuiteQL request, reading the table
// name even from statements the parser rejects.
func (s *Server) describeQuery(r *http.Request, body []byte, status int) QueryLog {
	l := QueryLog{Status: status, Limit: defaultLimit}
	qv := r.URL.Query()
	if v := qv.Get("limit"); v != "" {
		l.Limit, _ = strconv.Atoi(v)
	}
	if v := qv.Get("offset"); v != "" {
		l.Offset, _ = strconv.Atoi(v)
	}
	var b struct {
		Q      string `json:"q"`
		Params []any  `json:"params"`
	}
	if json.Unmarshal(body, &b) != nil {
		return l
	}
	l.Query = b.Q
	for _, p := range b.Params {
		switch v := p.(type) {
		case nil:
			l.Params = append(l.Params, "")
		case string:
			l.Params = append(l.Params, v)
		default:
			l.Params = append(l.Params, fmt.Sprint(v))
		}
	}
	l.Table = fromTable(b.Q)
	return l
}

// fromTable finds the identifier after the first FROM, best effort.
func fromTable(q string) string {
	toks, err := lex(q)
	if err != nil {
		return ""
	}
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].is("from") && toks[i+1].kind == tokIdent {
			return toks[i+1].text
		}
	}
	return ""
}
