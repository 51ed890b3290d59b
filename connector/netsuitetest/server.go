package netsuitetest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a fake server. The zero value is usable.
type Options struct {
	AccountID string // e.g. "1234567_SB1"; default "TSTDRV1234567"
	// TimeZone is the SuiteQL session zone (IANA name); default
	// "America/Los_Angeles". TO_CHAR renders and TO_TIMESTAMP parses in it.
	TimeZone string
	// TimeZoneAsOffset makes SESSIONTIMEZONE return an offset such as
	// "-08:00" (the zone's offset at Now) instead of the region name.
	TimeZoneAsOffset bool
	// DateFormat is the user's date preference for raw date/datetime columns:
	// "M/D/YYYY" (default), "D/M/YYYY", "YYYY-MM-DD" (also MM/DD/YYYY etc.).
	DateFormat string
	// OAuth 2.0 refresh-token grant credentials. Defaults: "demo-client-id",
	// "demo-client-secret", "demo-refresh-token".
	ClientID, ClientSecret, RefreshToken string
	// RotateRefreshTokens is NetSuite's public-client behaviour: every refresh
	// returns a new refresh token and the used one stops working at once.
	RotateRefreshTokens bool
	AccessTokenTTL      time.Duration    // default 3600 s
	Now                 func() time.Time // server clock; default time.Now
	// OAuth 2.0 client credentials (M2M): the grant is enabled when
	// CertificatePublicKeyPEM holds the public half of the signing key, as a
	// "PUBLIC KEY" or "CERTIFICATE" PEM block (RSA ≥ 2048 bits, EC P-256,
	// P-384 or P-521); otherwise it answers unauthorized_client. Assertions
	// must carry kid = CertificateID (default "demo-certificate-id") and
	// iss = ClientID. A certificate is also checked for expiry against Now.
	// A PEM that holds no usable public key makes New panic (a test bug).
	CertificateID           string
	CertificatePublicKeyPEM []byte
	// Token-based authentication (OAuth 1.0a, HMAC-SHA256): enabled when all
	// four are set; the realm must be AccountID exactly.
	ConsumerKey, ConsumerSecret, TokenID, TokenSecret string
	// StringEnvelope renders count/offset/totalResults as JSON strings, like
	// one of Oracle's documented samples.
	StringEnvelope bool
	UpperCaseKeys  bool           // item keys in upper case (NetSuite warns casing may change)
	Rows           map[string]int // generated rows per table
	Seed           int64          // generator seed
	FixturesDir    string         // if set, load <dir>/<table>.json as well
	NoRecordAPI    bool           // the role may not use the REST record API: 403 (record.go)

	// CustomFields are the account's custom fields (customfield.go): rows of
	// the customfield table and, when stored and served, columns of the record
	// tables their prefix names, filled by the generator. nil means none;
	// StandardCustomFields returns a realistic set.
	CustomFields []CustomField
	// ActivityFieldType is customfield.fieldtype of custevent… fields, which no
	// source documents; default "CRM" (another plausible value: "EVENT").
	ActivityFieldType string
	// UpperCaseScriptIDs stores and serves customfield.scriptid in upper case
	// (CUSTENTITY_REGION), as some accounts do; columns stay lower-case.
	UpperCaseScriptIDs bool
	// NoFieldValueTypeRecord drops customfield.fieldvaluetyperecord: selecting
	// it is an Unknown identifier.
	NoFieldValueTypeRecord bool
	// PercentRendering is how a raw Percent value reads: PercentNumber "50"
	// (default), PercentWithSign "50%" or PercentFraction ".5". Row values are
	// the number shown in the UI (50) in every case.
	PercentRendering string
	// MultiSelectRendering is how a raw Multiple Select value reads:
	// MultiSelectCommaSpace "1, 2, 3" (default), MultiSelectComma "1,2,3" or
	// MultiSelectControlChar (ids separated by U+0005).
	MultiSelectRendering string

	// Rejections makes the account refuse columns it has: table → lower-case
	// column (standard or custom) → how (rejection.go). A rejected column is
	// rejected wherever a query mentions it; SetRejection changes it later.
	Rejections map[string]map[string]Rejection
	// NonStoredRejection is how selecting a custom field that is listed but
	// not served, or not stored, is rejected; default NotExposed.
	NonStoredRejection Rejection
	// NameLastRejected names the last rejected column of a statement in the
	// error instead of the first.
	NameLastRejected bool
	// QualifiedNamesInErrors names a column as the query wrote it,
	// 'customer.foo', instead of 'foo'.
	QualifiedNamesInErrors bool
	// QuoteAvailableIdentifiers quotes each name of the Unknown identifier
	// message's list: {'id', 'entityid', …}.
	QuoteAvailableIdentifiers bool

	// Address books and subsidiary memberships (children.go).

	// AddressFieldType is customfield.fieldtype of address custom fields
	// (CustomField.AddressField), which no source documents; default
	// "ADDRESS".
	AddressFieldType string
	// BookChangesKeepParentLMD makes adding or removing an address-book line,
	// or changing its label or default flags, leave the parent's
	// lastmodifieddate alone. Default false: the change is saved through the
	// parent record and bumps it (the fact sheet's inference, §10.2). Either
	// way the parent's defaultbillingaddress/defaultshippingaddress follow.
	BookChangesKeepParentLMD bool
	// NoAddressPermission is a role that may query the address tables
	// (customeraddressbook, contactaddressbook, their …entityaddress tables,
	// entityaddress) but gets no rows from them, not an error (§10.2, S).
	// Truth and AddressBook still return the account's data.
	NoAddressPermission bool
	// NoOneWorld is an account without subsidiaries: the
	// customersubsidiaryrelationship table does not exist (400 "Record
	// 'customersubsidiaryrelationship' was not found.").
	NoOneWorld bool
	// NoSubsidiaryLastModified drops customersubsidiaryrelationship's
	// lastmodifieddate (only one source lists it): selecting it is an Unknown
	// identifier.
	NoSubsidiaryLastModified bool
	// SubsidiaryRemovalsInDeletedRecord makes RemoveSubsidiary leave a
	// deletedrecord row of type 'customersubsidiaryrelationship'. Default
	// false: a removed membership leaves no trace.
	SubsidiaryRemovalsInDeletedRecord bool
}

// Stats is a snapshot of what the server has seen.
type Stats struct {
	// SuiteQLRequests counts requests per FROM table (lowercase; a join's
	// first table), successful or not; "dual" for SELECT ... FROM DUAL, ""
	// when no table could be read.
	SuiteQLRequests map[string]int
	TokenRequests   int
	MaxInFlight     int // max concurrent requests observed across all endpoints
	Queries         []QueryLog
	RecordRequests  int // REST record API requests (record.go), answered or not
}

// QueryLog records one SuiteQL request.
type QueryLog struct {
	Table  string
	Query  string
	Params []string // the request's "params" as text ("" for JSON null)
	Limit  int
	Offset int
	Status int
}

// Fault lets a test answer a request itself before normal handling (to
// inject 429, 500, slow responses ...). Returning inject=false continues
// normally. It runs while the request counts as in flight.
//
// The status DropConnection (-1) answers nothing: the server closes the
// connection (the body is ignored), as a proxy or a NetSuite node going away
// does. The client sees a reset or an unexpected EOF. The request stops
// counting as in flight before the connection closes; a SuiteQL request is
// logged with Status -1.
type Fault func(r *http.Request) (status int, body string, inject bool)

// DropConnection is the Fault status that closes the connection without an
// answer.
const DropConnection = -1

// Server is a running fake NetSuite account.
type Server struct {
	opts   Options
	zone   sessionZone
	render renderer
	ts     *httptest.Server
	auth   *authState

	mu         sync.RWMutex // guards tables, fields and rejections
	tables     map[string]*table
	fields     []CustomField                   // current custom fields, canonical
	rejections map[string]map[string]Rejection // table → column → rejection

	percentMode    percentMode // Options.PercentRendering
	multiSelectSep string      // Options.MultiSelectRendering

	// Next ids of the child tables (children.go), guarded by mu: address-book
	// line internalids, address nkeys, subsidiary membership ids.
	nextLine, nextNkey, nextSub int64
	subBuf                      []cell // appendSubsidiary's row buffer

	statsMu sync.Mutex
	stats   Stats

	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	fault       atomic.Pointer[Fault]
	latency     atomic.Int64 // SetLatency, in nanoseconds
}

const (
	suiteQLPath    = "/services/rest/query/v1/suiteql"
	tokenPath      = "/services/rest/auth/oauth2/v1/token"
	serverTimePath = "/services/rest/system/v1/serverTime"
	maxBodyBytes   = 10 << 20
)

// New builds the data set and starts the server.
func New(opts Options) (*Server, error) {
	if opts.AccountID == "" {
		opts.AccountID = "TSTDRV1234567"
	}
	if opts.TimeZone == "" {
		opts.TimeZone = "America/Los_Angeles"
	}
	if opts.DateFormat == "" {
		opts.DateFormat = "M/D/YYYY"
	}
	if opts.ClientID == "" {
		opts.ClientID = "demo-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "demo-client-secret"
	}
	if opts.RefreshToken == "" {
		opts.RefreshToken = "demo-refresh-token"
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = 3600 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ActivityFieldType == "" {
		opts.ActivityFieldType = "CRM"
	}
	if opts.AddressFieldType == "" {
		opts.AddressFieldType = "ADDRESS"
	}
	if opts.NonStoredRejection == NoRejection {
		opts.NonStoredRejection = NotExposed
	}
	if !opts.NonStoredRejection.valid() {
		return nil, fmt.Errorf("netsuitetest: NonStoredRejection: unknown rejection %q", opts.NonStoredRejection)
	}
	loc, err := time.LoadLocation(opts.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("netsuitetest: session time zone: %w", err)
	}
	dates, err := parseDateDisplay(opts.DateFormat)
	if err != nil {
		return nil, fmt.Errorf("netsuitetest: %w", err)
	}
	s := &Server{
		opts:       opts,
		zone:       sessionZone{loc: loc},
		tables:     map[string]*table{},
		rejections: map[string]map[string]Rejection{},
		stats:      Stats{SuiteQLRequests: map[string]int{}},
		nextLine:   1,
		nextNkey:   firstNkey,
		nextSub:    1,
	}
	switch opts.PercentRendering {
	case "", PercentNumber:
		s.percentMode = pctNumber
	case PercentWithSign:
		s.percentMode = pctWithSign
	case PercentFraction:
		s.percentMode = pctFraction
	default:
		return nil, fmt.Errorf("netsuitetest: PercentRendering %q: want %q, %q or %q", opts.PercentRendering, PercentNumber, PercentWithSign, PercentFraction)
	}
	switch opts.MultiSelectRendering {
	case "", MultiSelectCommaSpace:
		s.multiSelectSep = ", "
	case MultiSelectComma:
		s.multiSelectSep = ","
	case MultiSelectControlChar:
		s.multiSelectSep = "\x05"
	default:
		return nil, fmt.Errorf("netsuitetest: MultiSelectRendering %q: want %q, %q or %q", opts.MultiSelectRendering, MultiSelectCommaSpace, MultiSelectComma, MultiSelectControlChar)
	}
	s.render = renderer{dates: dates, upperKeys: opts.UpperCaseKeys}
	for i := range catalog {
		def := &catalog[i]
		if def.name == subsidiaryTable {
			if opts.NoOneWorld {
				continue
			}
			if opts.NoSubsidiaryLastModified {
				d := *def
				d.cols = slices.DeleteFunc(slices.Clone(d.cols), func(c Column) bool { return c.Name == "lastmodifieddate" })
				def = &d
			}
		}
		s.tables[def.name] = newTable(def)
	}
	s.tables[customFieldTable] = newTable(customFieldTableDef(!opts.NoFieldValueTypeRecord))
	for _, f := range opts.CustomFields {
		if f.LastModified.IsZero() {
			f.LastModified = defaultFieldModified(strings.ToLower(strings.TrimSpace(f.ScriptID)), opts.Now())
		}
		if err := s.addCustomField(f); err != nil {
			return nil, fmt.Errorf("netsuitetest: CustomFields: %w", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(opts.Rows)) {
		n := opts.Rows[name]
		t, ok := s.tables[name]
		if !ok || name == customFieldTable || t.def.child {
			return nil, fmt.Errorf("netsuitetest: Rows: unknown table %q (customfield rows come from CustomFields; the child tables' from customer and contact)", name)
		}
		if n < 0 || n > 5_000_000 {
			return nil, fmt.Errorf("netsuitetest: Rows[%s] = %d out of range", name, n)
		}
		generate(t, n, opts.Seed, opts.Now(), s.zone)
	}
	s.generateChildren(opts.Seed, opts.Now())
	if opts.FixturesDir != "" {
		if err := s.loadFixtures(opts.FixturesDir); err != nil {
			return nil, fmt.Errorf("netsuitetest: %w", err)
		}
	}
	if err := s.reconcileChildren(opts.Seed); err != nil {
		return nil, fmt.Errorf("netsuitetest: fixtures: %w", err)
	}
	for _, table := range slices.Sorted(maps.Keys(opts.Rejections)) {
		for _, column := range slices.Sorted(maps.Keys(opts.Rejections[table])) {
			if err := s.setRejection(table, column, opts.Rejections[table][column]); err != nil {
				return nil, fmt.Errorf("netsuitetest: Rejections: %w", err)
			}
		}
	}
	s.auth = newAuthState(opts)
	s.ts = httptest.NewServer(s)
	return s, nil
}

// sessionTimeZone is what SELECT SESSIONTIMEZONE FROM DUAL returns. The
// offset form is computed per request because Now may cross a DST change.
func (s *Server) sessionTimeZone() string {
	if !s.opts.TimeZoneAsOffset {
		return s.opts.TimeZone
	}
	_, off := s.opts.Now().In(s.zone.loc).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

// URL is the base URL; the connector appends /services/rest/...
func (s *Server) URL() string { return s.ts.URL }

// TokenURL is the OAuth 2.0 token endpoint.
func (s *Server) TokenURL() string { return s.ts.URL + tokenPath }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Columns returns the table's current columns (nil if unknown): the catalog
// in catalog order, then the custom fields it serves in the order they were
// added (fields that are not stored or not served are no columns). Columns
// with a Rejection are included: the account has them.
func (s *Server) Columns(table string) []Column {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tables[table]
	if !ok {
		return nil
	}
	out := make([]Column, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.Column
	}
	return out
}

// CustomFields returns the account's current custom fields (canonical script
// ids, in the order they were added).
func (s *Server) CustomFields() []CustomField {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.fields)
}

// Truth returns deep copies of the table's current rows sorted by id (by
// recordid, recordtypeid, scriptid for deletedrecord). Empty text is nil.
func (s *Server) Truth(table string) []Row {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tables[table]
	if !ok {
		return nil
	}
	out := make([]Row, 0, t.n)
	for _, r := range t.sortedRows() {
		out = append(out, t.toRow(r))
	}
	return out
}

// Upsert inserts r or updates the row with the same id (columns absent from
// r keep their values). It stamps lastmodifieddate with Now() truncated to
// the second, fills datecreated/createddate on insert when absent, and
// returns the stored row. deletedrecord is keyed by recordid, recordtypeid
// and scriptid and gets deleteddate = Now() on insert when absent.
//
// Misuse (unknown table or column, wrong value type, missing id) is a bug in
// the calling test or demo and panics, like regexp.MustCompile.
//
// customer and contact keep their address books and memberships consistent:
// defaultbillingaddress and defaultshippingaddress may only be given with the
// values the lines imply (change the lines with AddAddressLine,
// SetAddressLine …), and a customer's subsidiary moves its primary
// membership (created when the customer has none). The child tables
// themselves are changed only through the mutations of children.go.
func (s *Server) Upsert(table string, r Row) Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upsert(table, r)
}

// upsert is Upsert with mu held.
func (s *Server) upsert(table string, r Row) Row {
	t, ok := s.tables[table]
	if !ok {
		panic(fmt.Sprintf("netsuitetest: Upsert: unknown table %q", table))
	}
	if table == customFieldTable {
		panic("netsuitetest: Upsert: change customfield with AddCustomField, RemoveCustomField or SetCustomFieldType")
	}
	if t.def.child {
		panic(fmt.Sprintf("netsuitetest: Upsert: change %s with AddAddressLine, SetAddressLine, EditAddress, RemoveAddressLine, AddSubsidiary, SetSubsidiary or RemoveSubsidiary", table))
	}
	now := s.opts.Now().Truncate(time.Second)
	probe, err := t.rowToCells(nullCells(len(t.cols)), r, s.zone)
	if err != nil {
		panic("netsuitetest: Upsert: " + err.Error())
	}
	for _, k := range t.keyCols[:1] {
		if probe[k].null {
			panic(fmt.Sprintf("netsuitetest: Upsert into %s needs %q", table, t.cols[k].Name))
		}
	}
	row := t.findKey(probe)
	if b, ok := bookOf(table); ok {
		s.checkDefaults(b, probe[t.idCol].i, r)
	}
	var cells []cell
	if row >= 0 {
		cells, _ = t.rowToCells(t.rowCells(row), r, s.zone)
	} else {
		cells = probe
		for _, name := range []string{"datecreated", "createddate", "deleteddate"} {
			if i, ok := t.index[name]; ok && cells[i].null {
				cells[i] = datetimeCell(now.Unix(), s.zone)
			}
		}
	}
	if i, ok := t.index["lastmodifieddate"]; ok {
		cells[i] = datetimeCell(now.Unix(), s.zone)
	}
	if row >= 0 {
		t.setRow(row, cells)
	} else {
		row = t.appendRow(cells)
	}
	if table == "customer" {
		s.syncPrimarySubsidiary(probe[t.idCol].i, now.Unix())
	}
	return t.toRow(row)
}

// checkDefaults panics when r gives a customer or contact default address
// column a value its address-book lines do not imply.
func (s *Server) checkDefaults(b book, entity int64, r Row) {
	bill, ship := s.derivedDefaults(b, entity)
	for k, v := range r {
		var want cell
		switch strings.ToLower(k) {
		case "defaultbillingaddress":
			want = bill
		case "defaultshippingaddress":
			want = ship
		default:
			continue
		}
		got, ok := asInt64(v)
		if (v == nil) != want.null || (v != nil && (!ok || got != want.i)) {
			panic(fmt.Sprintf("netsuitetest: Upsert: %s %d: %s %v disagrees with its address book; change the lines with AddAddressLine or SetAddressLine", b.parent, entity, k, v))
		}
	}
}

// deletedRecordTypeIDs are the fake's record type ids in deletedrecord (the real numbers
// are not documented; only their distinctness matters).
var deletedRecordTypeIDs = map[string]int64{"customer": -2, "contact": -6, "calendarevent": -20, "task": -21, "phonecall": -22,
	subsidiaryTable: -30}

// Delete removes the row with this id and reports whether there was one. For a
// record table it adds the deletedrecord row NetSuite keeps (type = the table
// name, deleteddate = Now); for deletedrecord itself it removes every row with
// this recordid. Deleting a customer or contact also removes its address-book
// lines, their addresses and its subsidiary memberships, without deletedrecord
// rows for them. On a child table Delete is the matching removal: an
// address-book line by internalid (RemoveAddressLine), an address by nkey
// (its line goes too), a membership by id (RemoveSubsidiary).
func (s *Server) Delete(table string, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[table]
	if !ok || table == customFieldTable {
		return false
	}
	if t.def.child {
		return s.deleteChild(table, id)
	}
	if t.idCol >= 0 {
		row, ok := t.byID[id]
		if ok {
			t.removeRow(row)
			s.removeEntityChildren(table, id)
			// NetSuite records the deletion, stamped now, under the record type. Each type
			// has its own recordtypeid, so deletions of equal ids of different types are
			// separate rows (entity and activity ids overlap).
			s.upsert("deletedrecord", Row{"recordid": id, "recordtypeid": deletedRecordTypeIDs[table], "type": table, "deletedby": int64(-5), "context": "UI"})
		}
		return ok
	}
	removed := false
	k := t.keyCols[0]
	for row := t.n - 1; row >= 0; row-- {
		if t.cols[k].valid[row] && t.cols[k].ints[row] == id {
			t.removeRow(row)
			removed = true
		}
	}
	return removed
}

// deleteChild is Delete on a child table. Callers hold mu.
func (s *Server) deleteChild(table string, id int64) bool {
	if table == subsidiaryTable {
		return s.removeSubsidiary(id)
	}
	for _, b := range books {
		switch table {
		case b.lines:
			return s.removeAddressLine("Delete", b.parent, id)
		case b.addrs, allAddressesTable:
			lt := s.tables[b.lines]
			if row := lt.firstWhere("addressbookaddress", id); row >= 0 {
				return s.removeAddressLine("Delete", b.parent, lt.cellAt(row, "internalid").i)
			}
		}
	}
	return false
}

// RefreshToken returns the currently valid refresh token.
func (s *Server) RefreshToken() string { return s.auth.currentRefreshToken() }

// RevokeRefreshToken invalidates the current refresh token (as when the
// 7-day confidential-client lifetime ends or a user revokes access); the
// next refresh gets invalid_grant.
func (s *Server) RevokeRefreshToken() { s.auth.revokeRefreshToken() }

// Stats returns a snapshot.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	st := s.stats
	st.SuiteQLRequests = maps.Clone(s.stats.SuiteQLRequests)
	st.Queries = slices.Clone(s.stats.Queries)
	st.MaxInFlight = int(s.maxInFlight.Load())
	return st
}

// ResetStats clears all counters, including MaxInFlight.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats = Stats{SuiteQLRequests: map[string]int{}}
	s.maxInFlight.Store(0)
}

// SetLatency makes every SuiteQL, serverTime and record request wait to be answered
// until d after it arrived, as NetSuite takes its time: the fake's own work counts
// inside d, as NetSuite's does inside its answer time, so a benchmark of the client does
// not also measure how long this process takes to scan its tables. Token requests are
// answered at once. Zero (the default) answers as soon as the answer is ready.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// latencyWriter holds an answer's status line back until its time has come.
type latencyWriter struct {
	http.ResponseWriter
	due  time.Time
	sent bool
}

func (w *latencyWriter) wait() {
	if !w.sent {
		w.sent = true
		time.Sleep(time.Until(w.due))
	}
}

func (w *latencyWriter) WriteHeader(status int) {
	w.wait()
	w.ResponseWriter.WriteHeader(status)
}

func (w *latencyWriter) Write(b []byte) (int, error) {
	w.wait()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (DropConnection hijacks it).
func (w *latencyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetFault installs (or with nil removes) the per-request fault hook.
func (s *Server) SetFault(f Fault) {
	if f == nil {
		s.fault.Store(nil)
		return
	}
	s.fault.Store(&f)
}

func (s *Server) logQuery(l QueryLog) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.SuiteQLRequests[l.Table]++
	s.stats.Queries = append(s.stats.Queries, l)
}

func (s *Server) countTokenRequest() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.TokenRequests++
}

// ServeHTTP tracks concurrency, applies the fault hook and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.latency.Load()); d > 0 && r.URL.Path != tokenPath {
		lw := &latencyWriter{ResponseWriter: w, due: time.Now().Add(d)}
		defer lw.wait() // an answer with no body still waits
		w = lw
	}
	n := s.inFlight.Add(1)
	left := false // the request stopped counting as in flight
	leave := func() {
		if !left {
			left = true
			s.inFlight.Add(-1)
		}
	}
	defer leave()
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}

	// Read the body once so that the fault hook, the stats and the handler
	// can all look at it.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeNSError(w, http.StatusBadRequest, "INVALID_CONTENT", "The request body could not be read: "+err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	if fp := s.fault.Load(); fp != nil {
		if status, fb, inject := (*fp)(r); inject {
			r.Body = io.NopCloser(bytes.NewReader(body))
			switch r.URL.Path {
			case suiteQLPath:
				s.logQuery(s.describeQuery(r, body, status))
			case tokenPath:
				s.countTokenRequest()
			}
			if status == DropConnection {
				s.drop(w, leave)
				return
			}
			if len(fb) > 0 && (fb[0] == '{' || fb[0] == '[') {
				w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=error")
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, fb)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}

	switch r.URL.Path {
	case suiteQLPath:
		status := s.handleSuiteQL(w, r, body)
		s.logQuery(s.describeQuery(r, body, status))
	case tokenPath:
		s.countTokenRequest()
		s.handleToken(w, r)
	case serverTimePath:
		s.handleServerTime(w, r)
	case recordRoute(r.URL.Path):
		s.handleRecord(w, r)
	default:
		writeNSError(w, http.StatusNotFound, "NONEXISTENT_ID",
			fmt.Sprintf("The requested resource %s was not found.", r.URL.Path))
	}
}

// drop closes the request's connection without an answer. The request leaves
// the in-flight count first: the client may send its next request the moment
// it sees the connection close.
func (s *Server) drop(w http.ResponseWriter, leave func()) {
	conn, _, err := http.NewResponseController(w).Hijack()
	leave()
	if err != nil {
		panic("netsuitetest: DropConnection needs a connection that can be hijacked (HTTP/1.1): " + err.Error())
	}
	_ = conn.Close()
}

// getAuthorized answers what every authenticated GET endpoint answers first: 405 for
// another method, NetSuite's 401 without valid credentials. It reports whether to go on.
func (s *Server) getAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		writeMethodNotAllowed(w, http.MethodGet)
		return false
	}
	if err := s.auth.authenticate(r); err != nil {
		s.auth.writeUnauthorized(w, r)
		return false
	}
	return true
}

func (s *Server) handleServerTime(w http.ResponseWriter, r *http.Request) {
	if !s.getAuthorized(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=singular")
	now := s.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	fmt.Fprintf(w, `{"serverTime":%q}`, now)
}

// errorTypes mirrors the "type" links NetSuite puts in error bodies.
var errorTypes = map[int]string{
	400: "https://www.w3.org/Protocols/rfc9110.html#section-15.5.1",
	401: "https://www.w3.org/Protocols/rfc9110.html#section-15.5.2",
	404: "https://www.w3.org/Protocols/rfc9110.html#section-15.5.5",
	405: "https://www.w3.org/Protocols/rfc9110.html#section-15.5.6",
	429: "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
	500: "https://www.w3.org/Protocols/rfc9110.html#section-15.6.1",
	503: "https://www.w3.org/Protocols/rfc9110.html#section-15.6.4",
}

// ErrorBody renders a NetSuite REST error body, for tests that inject
// faults with the real shape.
func ErrorBody(status int, code, detail string) string {
	title := http.StatusText(status)
	if status == http.StatusTooManyRequests {
		title = "Bad Request" // as in Oracle's documented 429 sample
	}
	typ := errorTypes[status]
	if typ == "" {
		typ = "https://www.w3.org/Protocols/rfc9110.html"
	}
	var b []byte
	b = append(b, `{"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, title)
	b = fmt.Appendf(b, `,"status":%d`, status)
	if status == http.StatusTooManyRequests {
		b = append(b, `,"o:errorCode":"USER_ERROR"`...)
	}
	b = append(b, `,"o:errorDetails":[{"detail":`...)
	b = appendJSONString(b, detail)
	b = append(b, `,"o:errorCode":`...)
	b = appendJSONString(b, code)
	b = append(b, `}]}`...)
	return string(b)
}

// ConcurrencyLimitBody is NetSuite's documented 429 body.
func ConcurrencyLimitBody() string {
	return ErrorBody(http.StatusTooManyRequests, "CONCURRENCY_LIMIT_EXCEEDED",
		"Concurrent request limit exceeded. Request blocked.")
}

func writeNSError(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=error")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, ErrorBody(status, code, detail))
}

func writeMethodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeNSError(w, http.StatusMethodNotAllowed, "INVALID_REQUEST",
		fmt.Sprintf("The request method is not supported for this resource; use %s.", allow))
}
