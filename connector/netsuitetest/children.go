package netsuitetest

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
)

// Child tables: rows that belong to a customer or contact and live in their
// own tables (../shared/netsuite-api.md §10.2, §10.3).
//
//   - Address books. customeraddressbook (and contactaddressbook) has one row
//     per line: entity, internalid (unique across the account), label,
//     defaultbilling, defaultshipping and addressbookaddress, the nkey of the
//     line's address in customeraddressbookentityaddress (and
//     contactaddressbookentityaddress). entityaddress holds every address of
//     both books under the same nkeys. customer.defaultbillingaddress and
//     defaultshippingaddress (and contact's) hold the nkey of the entity's
//     default line, NULL when none: every mutation keeps them so.
//   - Subsidiary memberships. customersubsidiaryrelationship has one row per
//     customer and subsidiary; exactly one per customer (with a subsidiary)
//     has isprimarysub 'T' and the customer's subsidiary.
//
// The rows are generated with their parents and changed by the mutations
// below, which keep all of that consistent; Upsert and Delete refuse the
// child tables (Delete routes to the matching removal).

// book names the tables of one address book.
type book struct {
	parent string // customer or contact
	lines  string // the address-book lines
	addrs  string // their addresses
}

const allAddressesTable = "entityaddress"

var books = []book{
	{parent: "customer", lines: "customeraddressbook", addrs: "customeraddressbookentityaddress"},
	{parent: "contact", lines: "contactaddressbook", addrs: "contactaddressbookentityaddress"},
}

func bookOf(parent string) (book, bool) {
	for _, b := range books {
		if b.parent == parent {
			return b, true
		}
	}
	return book{}, false
}

// lineColumns are the columns of an address-book line that a test may set.
var lineColumns = map[string]bool{"label": true, "defaultbilling": true, "defaultshipping": true}

// Generated nkeys start here so that a connector confusing them with line
// internalids (which start at 1) finds nothing.
const firstNkey = 100_000

// ---- generation ----

// addressTemplate is one realistic address; the generator drops optional
// parts and adds people, phones and labels around it.
type addressTemplate struct {
	country                    string // ISO 3166 alpha-2
	addr1, addr2               string
	city, state, dropdown, zip string // "" = NULL
	phone                      string
}

var addressTemplates = []addressTemplate{
	{"US", "350 Fifth Avenue", "Floor 34", "New York", "NY", "NY", "10118", "+1 212-736-3100"},
	{"US", "1600 Amphitheatre Pkwy", "Bldg. 40", "Mountain View", "California", "CA", "94043", "+1 650-253-0000"},
	{"GB", "10 Downing Street", "", "London", "", "", "SW1A 2AA", "+44 20 7925 0918"},
	{"GB", "221B Baker Street", "Flat 2", "London", "", "", "NW1 6XE", "+44 20 7224 3688"},
	{"DE", "Friedrichstraße 43", "Hinterhaus, 3. OG", "Berlin", "", "", "10117", "+49 30 2093 0"},
	{"DE", "Marienplatz 8", "", "München", "Bayern", "BY", "80331", "+49 89 233 00"},
	{"FR", "12 rue de l'Église", "Bâtiment B", "Paris", "", "", "75001", "+33 1 42 60 31 00"},
	{"FR", "5 Avenue Anatole France", "", "Paris", "Île-de-France", "", "75007", ""},
	{"JP", "丸の内1-1-1", "パレスビル 5階", "千代田区", "東京都", "Tokyo", "100-0005", "+81 3-3211-5211"},
	{"JP", "梅田3-1-3", "", "大阪市北区", "大阪府", "Osaka", "530-8558", ""},
	{"BR", "Av. Paulista, 1578", "Conjunto 12", "São Paulo", "SP", "SP", "01310-200", "+55 11 3149-5959"},
	{"CA", "1000 Rue De La Gauchetière O", "Bureau 2400", "Montréal", "QC", "QC", "H3B 4W5", "+1 514-878-2331"},
	{"AU", "1 Macquarie Street", "Level 12", "Sydney", "NSW", "NSW", "2000", "+61 2 9250 7111"},
	{"IN", "12 MG Road", "Brigade Towers, 3rd Floor", "Bengaluru", "Karnataka", "KA", "560001", "+91 80 2558 0000"},
	{"RU", "ул. Тверская, д. 7", "кв. 15", "Москва", "", "", "125009", "+7 495 629-10-00"},
	{"GR", "Οδός Ερμού 15", "", "Αθήνα", "Αττική", "", "105 63", "+30 21 0323 0000"},
	{"AE", "شارع الشيخ زايد", "برج الإمارات، الطابق 20", "دبي", "", "", "", "+971 4 330 0000"},
	{"EG", "١٥ شارع التحرير", "", "القاهرة", "", "", "11511", ""},
	{"CN", "建国路88号", "SOHO现代城 A座", "北京市", "北京", "", "100022", "+86 10 8580 0000"},
	{"HK", "88 Queensway", "", "Admiralty", "", "", "", "+852 2523 0000"},
}

var countryNames = map[string]string{
	"US": "United States", "GB": "United Kingdom", "DE": "Germany", "FR": "France", "JP": "Japan",
	"BR": "Brazil", "CA": "Canada", "AU": "Australia", "IN": "India", "RU": "Russian Federation",
	"GR": "Greece", "AE": "United Arab Emirates", "EG": "Egypt", "CN": "China", "HK": "Hong Kong",
}

var (
	addressees = []string{"Acme Corp", "Smith, Jones & Co.", "Café Olé", "中文科技有限公司", "Тест ООО",
		"Ωmega Partners", "Zoë O'Brien", "شركة النور", "Mary-Kate \"MK\" Olsen", "株式会社テスト", "Ünïcödé GmbH"}
	attentions = []string{"Attn: Accounts Payable", "Ms. Анна Петрова", "王芳 様", "Κα. Ελένη Παπαδοπούλου",
		"Receiving, Dock 4", "M. François Dupont", "السيد أحمد"}
	addr3s     = []string{"c/o Reception", "Postfach 12 34", "私書箱 45", "P.O. Box 7, Station A", "а/я 15"}
	lineLabels = []string{"Billing", "Shipping", "HQ", "Warehouse — Süd", "本社", "Главный офис", "Home", "Site #2", "Κεντρικά"}
)

// addrParts is an address as the generator and the mutations handle it.
type addrParts struct {
	addressee, attention, addr1, addr2, addr3, phone string
	city, state, dropdown, zip, country, text        string
	override                                         bool
}

// formatAddress is addrtext as NetSuite builds it from the parts when the
// address is not overridden: one line per non-empty part, then "city state
// zip" and the country's name.
func formatAddress(a addrParts) string {
	var lines []string
	for _, p := range []string{a.addressee, a.attention, a.addr1, a.addr2, a.addr3} {
		if p != "" {
			lines = append(lines, p)
		}
	}
	var cityLine []string
	for _, p := range []string{a.city, a.state, a.zip} {
		if p != "" {
			cityLine = append(cityLine, p)
		}
	}
	if len(cityLine) > 0 {
		lines = append(lines, strings.Join(cityLine, " "))
	}
	if a.country != "" {
		name := countryNames[a.country]
		if name == "" {
			name = a.country
		}
		lines = append(lines, name)
	}
	return strings.Join(lines, "\n")
}

func genAddress(rng *rand.Rand) addrParts {
	tp := pick(rng, addressTemplates)
	a := addrParts{country: tp.country, addr1: tp.addr1, city: tp.city, state: tp.state, dropdown: tp.dropdown, zip: tp.zip}
	if rng.IntN(50) == 0 {
		a.addr1 = ""
	}
	if tp.addr2 != "" && rng.IntN(100) < 45 {
		a.addr2 = tp.addr2
	}
	if rng.IntN(100) < 10 {
		a.addr3 = pick(rng, addr3s)
	}
	if rng.IntN(100) < 75 {
		a.addressee = pick(rng, addressees)
	}
	if rng.IntN(100) < 40 {
		a.attention = pick(rng, attentions)
	}
	if tp.phone != "" && rng.IntN(100) < 50 {
		a.phone = tp.phone
	}
	if rng.IntN(100) < 5 {
		a.override = true
		a.text = "Deliver to the side entrance\n" + tp.addr1 + "\n" + tp.city + "\n" + countryNames[tp.country]
	} else {
		a.text = formatAddress(a)
	}
	return a
}

func genLabel(rng *rand.Rand, a addrParts) string {
	switch r := rng.IntN(100); {
	case r < 20:
		return ""
	case r < 50:
		return a.addr1 // NetSuite's default label is the first address line
	}
	return pick(rng, lineLabels)
}

func textCell(s string) cell {
	if s == "" {
		return null
	}
	return cell{s: s}
}

// addressCells builds an address row in t's layout (custom columns NULL).
func (s *Server) addressCells(t *table, nkey, owner, lmd int64, a addrParts) []cell {
	return s.addressCellsInto(nil, layoutOf(t), nkey, owner, lmd, a)
}

// addrLayout is the position of each standard address column in a table,
// in the order of addressColumns.
type addrLayout struct {
	width int
	pos   [16]int
}

func layoutOf(t *table) addrLayout {
	l := addrLayout{width: len(t.cols)}
	for i, c := range addressColumns {
		l.pos[i] = t.index[c.Name]
	}
	return l
}

// addressCellsInto is addressCells reusing buf.
func (s *Server) addressCellsInto(buf []cell, l addrLayout, nkey, owner, lmd int64, a addrParts) []cell {
	cells := nullCellsInto(buf, l.width)
	for i, v := range [...]cell{
		{i: nkey}, textCell(a.addressee), textCell(a.attention), textCell(a.addr1), textCell(a.addr2),
		textCell(a.addr3), textCell(a.phone), textCell(a.text), textCell(a.city), textCell(a.state),
		textCell(a.dropdown), textCell(a.zip), textCell(a.country), boolCell(a.override), {i: owner},
		datetimeCell(lmd, s.zone),
	} {
		cells[l.pos[i]] = v
	}
	return cells
}

// partsOf reads the parts of an address row.
func partsOf(t *table, row int) addrParts {
	get := func(name string) string { return t.cellAt(row, name).s }
	return addrParts{addressee: get("addressee"), attention: get("attention"), addr1: get("addr1"), addr2: get("addr2"),
		addr3: get("addr3"), phone: get("addrphone"), city: get("city"), state: get("state"), dropdown: get("dropdownstate"),
		zip: get("zip"), country: get("country"), text: get("addrtext"), override: t.cellAt(row, "override").i != 0}
}

func lineCells(t *table, entity, internalid, nkey int64, label string, billing, shipping bool) []cell {
	return lineCellsInto(nil, t, entity, internalid, nkey, label, billing, shipping)
}

func lineCellsInto(buf []cell, t *table, entity, internalid, nkey int64, label string, billing, shipping bool) []cell {
	cells := nullCellsInto(buf, len(t.cols))
	cells[t.index["entity"]] = cell{i: entity}
	cells[t.index["internalid"]] = cell{i: internalid}
	cells[t.index["label"]] = textCell(label)
	cells[t.index["defaultbilling"]] = boolCell(billing)
	cells[t.index["defaultshipping"]] = boolCell(shipping)
	cells[t.index["addressbookaddress"]] = cell{i: nkey}
	return cells
}

func childRNG(seed int64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// generateChildren generates the address books of every customer and contact
// row and the subsidiary memberships of every customer, from their own random
// streams: the parents' columns keep their values, except
// defaultbillingaddress and defaultshippingaddress, which name the default
// lines. Called by New after the record tables are generated.
func (s *Server) generateChildren(seed int64, now time.Time) {
	end := now.Add(-24*time.Hour).Truncate(time.Second).Unix() - 1
	start := end - 730*86400
	for _, b := range books {
		s.generateBook(b, seed, start, end)
	}
	s.generateSubsidiaries(seed)
}

func (s *Server) generateBook(b book, seed int64, start, end int64) {
	pt, lt, at := s.tables[b.parent], s.tables[b.lines], s.tables[b.addrs]
	if pt.n == 0 {
		return
	}
	rng := childRNG(seed, b.lines)
	bursts := []int64{start + rng.Int64N(end-start), start + rng.Int64N(end-start), start + rng.Int64N(end-start)}
	ids, lmds := pt.cols[pt.idCol], pt.cols[pt.index["lastmodifieddate"]]
	billCol, shipCol := pt.cols[pt.index["defaultbillingaddress"]], pt.cols[pt.index["defaultshippingaddress"]]
	first := at.n
	all := s.tables[allAddressesTable]
	lt.grow(pt.n * 7 / 4) // about 1.6 lines per parent
	at.grow(pt.n * 7 / 4)
	all.grow(pt.n * 7 / 4)
	var lbuf, abuf []cell
	layout := layoutOf(at)
	for row := 0; row < pt.n; row++ {
		entity := ids.ints[row]
		var k int
		switch r := rng.IntN(100); {
		case r < 20:
			k = 0
		case r < 55:
			k = 1
		case r < 80:
			k = 2
		case r < 92:
			k = 3
		default:
			k = 4
		}
		billing, shipping := -1, -1
		if k > 0 && rng.IntN(100) < 80 {
			billing = rng.IntN(k)
		}
		if k > 0 && rng.IntN(100) < 75 {
			if billing >= 0 && rng.IntN(2) == 0 {
				shipping = billing
			} else {
				shipping = rng.IntN(k)
			}
		}
		billCol.set(row, null)
		shipCol.set(row, null)
		for i := 0; i < k; i++ {
			internalid := s.nextLine
			s.nextLine += 1 + int64(rng.IntN(40)/39)*int64(1+rng.IntN(9)) // a gap now and then
			nkey := s.nextNkey
			s.nextNkey += 1 + int64(rng.IntN(40)/39)*int64(1+rng.IntN(9))
			a := genAddress(rng)
			var lmd int64
			switch r := rng.IntN(100); {
			case r < 25 && lmds.valid[row]:
				lmd = min(max(lmds.ints[row], start), end) // saved with the parent
			case r < 40:
				lmd = pick(rng, bursts) // a mass update of addresses
			default:
				lmd = start + rng.Int64N(end-start+1)
			}
			lbuf = lineCellsInto(lbuf, lt, entity, internalid, nkey, genLabel(rng, a), i == billing, i == shipping)
			lt.appendRow(lbuf)
			abuf = s.addressCellsInto(abuf, layout, nkey, entity, lmd, a)
			at.appendRow(abuf)
			if i == billing {
				billCol.set(row, cell{i: nkey})
			}
			if i == shipping {
				shipCol.set(row, cell{i: nkey})
			}
		}
	}
	for _, c := range at.cols {
		if c.fk != fkNone {
			generateCustom(at, c, first, seed, s.zone)
		}
	}
	for row := first; row < at.n; row++ {
		abuf = mapCellsInto(abuf, at, row, all)
		all.appendRow(abuf)
	}
}

// mapCells copies a row of from into to's layout, by column name.
func mapCells(from *table, row int, to *table) []cell {
	return mapCellsInto(nil, from, row, to)
}

func mapCellsInto(buf []cell, from *table, row int, to *table) []cell {
	cells := nullCellsInto(buf, len(to.cols))
	for i, c := range to.cols {
		if fi, ok := from.index[c.Name]; ok {
			cells[i] = from.cols[fi].get(row)
		}
	}
	return cells
}

// subsidiaryCurrency is the base currency the fake gives each subsidiary.
var subsidiaryCurrency = map[int64]int64{1: 1, 2: 2, 3: 3, 4: 1, 5: 4, 6: 5, 7: 2, 8: 3}

func (s *Server) generateSubsidiaries(seed int64) {
	st, ok := s.tables[subsidiaryTable]
	ct := s.tables["customer"]
	if !ok || ct.n == 0 {
		return
	}
	rng := childRNG(seed, subsidiaryTable)
	st.grow(ct.n * 3 / 2)
	ids, subs, curs := ct.cols[ct.idCol], ct.cols[ct.index["subsidiary"]], ct.cols[ct.index["currency"]]
	lmds, created := ct.cols[ct.index["lastmodifieddate"]], ct.cols[ct.index["datecreated"]]
	for row := 0; row < ct.n; row++ {
		if !subs.valid[row] {
			continue
		}
		entity, primary := ids.ints[row], subs.ints[row]
		var lo, hi int64
		if lmds.valid[row] {
			lo, hi = lmds.ints[row], lmds.ints[row]
			if created.valid[row] && created.ints[row] < hi {
				lo = created.ints[row]
			}
		}
		stamp := func() int64 {
			if hi == 0 || rng.IntN(3) == 0 {
				return hi // saved with the customer
			}
			return lo + rng.Int64N(hi-lo+1)
		}
		currency := int64(1)
		if curs.valid[row] {
			currency = curs.ints[row]
		}
		s.appendSubsidiary(st, entity, primary, true, currency, stamp())
		if rng.IntN(100) < 30 {
			extra := 1 + rng.IntN(3)
			for _, sub := range rng.Perm(8) {
				if extra == 0 {
					break
				}
				if sid := int64(sub + 1); sid != primary {
					s.appendSubsidiary(st, entity, sid, false, subsidiaryCurrency[sid], stamp())
					extra--
				}
			}
		}
		if rng.IntN(20) == 0 {
			s.nextSub += 1 + int64(rng.IntN(5)) // ids of removed memberships
		}
	}
}

// appendSubsidiary adds a membership row with the next id. Callers hold mu.
func (s *Server) appendSubsidiary(st *table, entity, subsidiary int64, primary bool, currency, lmd int64) int64 {
	id := s.nextSub
	s.nextSub++
	s.subBuf = nullCellsInto(s.subBuf, len(st.cols))
	cells := s.subBuf
	cells[st.index["id"]] = cell{i: id}
	cells[st.index["entity"]] = cell{i: entity}
	cells[st.index["subsidiary"]] = cell{i: subsidiary}
	cells[st.index["isprimarysub"]] = boolCell(primary)
	cells[st.index["primarycurrency"]] = cell{i: currency}
	if i, ok := st.index["lastmodifieddate"]; ok {
		cells[i] = datetimeCell(lmd, s.zone)
	}
	st.appendRow(cells)
	return id
}

// reconcileChildren makes the child tables agree with records that came from
// fixtures (loaded after generation; ids from FixtureIDMin): one without lines
// whose default address columns name nkeys gets one line per distinct nkey
// (the address generated from Seed and the nkey), and a customer with a
// subsidiary but no membership gets its primary membership. The id counters
// then move past every id in use.
func (s *Server) reconcileChildren(seed int64) error {
	for _, b := range books {
		pt, lt, at := s.tables[b.parent], s.tables[b.lines], s.tables[b.addrs]
		var hasLines, used map[int64]bool
		for row := 0; row < pt.n; row++ {
			entity := pt.cols[pt.idCol].ints[row]
			if entity < FixtureIDMin {
				continue // generated: consistent already
			}
			bill, ship := pt.cellAt(row, "defaultbillingaddress"), pt.cellAt(row, "defaultshippingaddress")
			if bill.null && ship.null {
				continue
			}
			if hasLines == nil {
				hasLines, used = map[int64]bool{}, map[int64]bool{}
				for _, r := range lt.cols[lt.index["entity"]].ints {
					hasLines[r] = true
				}
				all := s.tables[allAddressesTable]
				for _, v := range all.cols[all.index["nkey"]].ints {
					used[v] = true
				}
			}
			if hasLines[entity] {
				continue
			}
			lmd := s.opts.Now().Add(-48 * time.Hour).Truncate(time.Second).Unix()
			if v := pt.cellAt(row, "lastmodifieddate"); !v.null {
				lmd = v.i
			}
			add := func(nkey int64, billing, shipping bool) error {
				if used[nkey] {
					return fmt.Errorf("%s %d: default address nkey %d is already another address", b.parent, entity, nkey)
				}
				used[nkey] = true
				a := genAddress(childRNG(seed, fmt.Sprintf("%s/%d", b.addrs, nkey)))
				lt.appendRow(lineCells(lt, entity, s.nextLine, nkey, a.addr1, billing, shipping))
				s.nextLine++
				at.appendRow(s.addressCells(at, nkey, entity, lmd, a))
				s.tables[allAddressesTable].appendRow(mapCells(at, at.n-1, s.tables[allAddressesTable]))
				return nil
			}
			if !bill.null {
				if err := add(bill.i, true, !ship.null && ship.i == bill.i); err != nil {
					return err
				}
			}
			if !ship.null && (bill.null || ship.i != bill.i) {
				if err := add(ship.i, false, true); err != nil {
					return err
				}
			}
		}
	}
	if st, ok := s.tables[subsidiaryTable]; ok {
		ct := s.tables["customer"]
		var member map[int64]bool
		for row := 0; row < ct.n; row++ {
			entity := ct.cols[ct.idCol].ints[row]
			sub, cur, lmd := ct.cellAt(row, "subsidiary"), ct.cellAt(row, "currency"), ct.cellAt(row, "lastmodifieddate")
			if entity < FixtureIDMin || sub.null {
				continue
			}
			if member == nil {
				member = map[int64]bool{}
				for _, e := range st.cols[st.index["entity"]].ints {
					member[e] = true
				}
			}
			if member[entity] {
				continue
			}
			if cur.null {
				cur.i = 1
			}
			s.appendSubsidiary(st, entity, sub.i, true, cur.i, lmd.i)
		}
	}
	s.advanceCounters()
	return nil
}

// advanceCounters moves the id counters past every id in use.
func (s *Server) advanceCounters() {
	maxOf := func(table, column string) int64 {
		t, ok := s.tables[table]
		if !ok {
			return 0
		}
		var m int64
		c := t.cols[t.index[column]]
		for r := 0; r < t.n; r++ {
			if c.valid[r] {
				m = max(m, c.ints[r])
			}
		}
		return m
	}
	for _, b := range books {
		s.nextLine = max(s.nextLine, maxOf(b.lines, "internalid")+1)
	}
	s.nextNkey = max(s.nextNkey, maxOf(allAddressesTable, "nkey")+1)
	s.nextSub = max(s.nextSub, maxOf(subsidiaryTable, "id")+1)
}

// ---- mutations ----

// bookTables returns the tables of parent's address book; an unknown parent
// panics (a test bug). Callers hold mu.
func (s *Server) bookTables(fn, parent string) (b book, pt, lt, at *table) {
	b, ok := bookOf(parent)
	if !ok {
		panic(fmt.Sprintf("netsuitetest: %s: parent %q: want \"customer\" or \"contact\"", fn, parent))
	}
	return b, s.tables[b.parent], s.tables[b.lines], s.tables[b.addrs]
}

// line finds an address-book line by internalid or panics.
func (s *Server) line(fn string, lt *table, internalid int64) int {
	row := lt.firstWhere("internalid", internalid)
	if row < 0 {
		panic(fmt.Sprintf("netsuitetest: %s: %s has no line %d", fn, lt.def.name, internalid))
	}
	return row
}

func (s *Server) now() int64 { return s.opts.Now().Truncate(time.Second).Unix() }

// touch stamps the lastmodifieddate of the record with this id, if any.
func (s *Server) touch(table string, id int64, now int64) {
	t := s.tables[table]
	if row, ok := t.byID[id]; ok && t.has("lastmodifieddate") {
		t.setCellAt(row, "lastmodifieddate", datetimeCell(now, s.zone))
	}
}

// touchBookParent is touch for a line change, unless
// Options.BookChangesKeepParentLMD.
func (s *Server) touchBookParent(b book, entity, now int64) {
	if !s.opts.BookChangesKeepParentLMD {
		s.touch(b.parent, entity, now)
	}
}

// syncDefaults sets the parent's defaultbillingaddress and
// defaultshippingaddress from its lines.
func (s *Server) syncDefaults(b book, entity int64) {
	pt := s.tables[b.parent]
	if row, ok := pt.byID[entity]; ok {
		bill, ship := s.derivedDefaults(b, entity)
		pt.setCellAt(row, "defaultbillingaddress", bill)
		pt.setCellAt(row, "defaultshippingaddress", ship)
	}
}

// derivedDefaults are the nkeys of the entity's default lines (NULL: none).
func (s *Server) derivedDefaults(b book, entity int64) (bill, ship cell) {
	lt := s.tables[b.lines]
	bill, ship = null, null
	for _, r := range lt.rowsWhere("entity", entity) {
		if lt.cellAt(r, "defaultbilling").i != 0 {
			bill = lt.cellAt(r, "addressbookaddress")
		}
		if lt.cellAt(r, "defaultshipping").i != 0 {
			ship = lt.cellAt(r, "addressbookaddress")
		}
	}
	return bill, ship
}

// setLineFlags applies label/defaultbilling/defaultshipping from r to a line;
// a default set to true is cleared on the entity's other lines.
func (s *Server) setLineFlags(fn string, lt *table, row int, r Row) {
	entity := lt.cellAt(row, "entity").i
	for k, v := range r {
		name := strings.ToLower(k)
		if !lineColumns[name] {
			panic(fmt.Sprintf("netsuitetest: %s: %q is not a line column (label, defaultbilling, defaultshipping)", fn, k))
		}
		c, err := toCell(lt.cols[lt.index[name]], v, s.zone)
		if err != nil {
			panic(fmt.Sprintf("netsuitetest: %s: %v", fn, err))
		}
		if name != "label" && c.null {
			panic(fmt.Sprintf("netsuitetest: %s: %s must be true or false", fn, name))
		}
		lt.setCellAt(row, name, c)
		if name != "label" && c.i != 0 {
			for _, other := range lt.rowsWhere("entity", entity) {
				if other != row {
					lt.setCellAt(other, name, boolCell(false))
				}
			}
		}
	}
}

// putAddressFields applies address columns from r to row of at (and the
// same nkey's entityaddress row). Recomputes addrtext from the parts when
// the address is not overridden and r sets no addrtext.
func (s *Server) putAddressFields(fn string, at *table, row int, r Row, now int64) {
	textSet := false
	for k := range r {
		switch strings.ToLower(k) {
		case "nkey", "recordowner":
			panic(fmt.Sprintf("netsuitetest: %s: %s cannot be changed", fn, k))
		case "addrtext":
			textSet = true
		}
	}
	cells, err := at.rowToCells(at.rowCells(row), r, s.zone)
	if err != nil {
		panic(fmt.Sprintf("netsuitetest: %s: %v", fn, err))
	}
	at.setRow(row, cells)
	if !textSet && at.cellAt(row, "override").i == 0 {
		at.setCellAt(row, "addrtext", textCell(formatAddress(partsOf(at, row))))
	}
	at.setCellAt(row, "lastmodifieddate", datetimeCell(now, s.zone))
	s.mirrorAddress(at, row)
}

// mirrorAddress copies an address row to entityaddress (same nkey).
func (s *Server) mirrorAddress(at *table, row int) {
	all := s.tables[allAddressesTable]
	cells := mapCells(at, row, all)
	if r := all.firstWhere("nkey", at.cellAt(row, "nkey").i); r >= 0 {
		all.setRow(r, cells)
		return
	}
	all.appendRow(cells)
}

// removeAddress removes an address row by nkey from at and entityaddress.
func (s *Server) removeAddress(at *table, nkey int64) {
	at.removeRows(at.rowsWhere("nkey", nkey))
	all := s.tables[allAddressesTable]
	all.removeRows(all.rowsWhere("nkey", nkey))
}

// EditAddress changes the address of an address-book line of parent
// ("customer" or "contact"), as a user editing the address subrecord does:
// changes may name any address column (addr1, city, addrtext, override,
// address custom fields …) but nkey and recordowner. When changes sets no
// addrtext and the address is not overridden, addrtext is rebuilt from the
// parts. The address row's lastmodifieddate (in the book's address table and
// in entityaddress) becomes Now; the parent's does not move (the fact
// sheet's assumption, §10.2). An unknown line, column or value type panics.
func (s *Server) EditAddress(parent string, internalid int64, changes Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, lt, at := s.bookTables("EditAddress", parent)
	lrow := s.line("EditAddress", lt, internalid)
	nkey := lt.cellAt(lrow, "addressbookaddress").i
	arow := at.firstWhere("nkey", nkey)
	if arow < 0 {
		panic(fmt.Sprintf("netsuitetest: EditAddress: line %d has no address", internalid))
	}
	s.putAddressFields("EditAddress", at, arow, changes, s.now())
}

// AddAddressLine adds a line to the address book of entity, a parent
// ("customer" or "contact") record, and its address, and returns the line's
// internalid (unique across the account; the address gets a new nkey).
// line holds the line's label, defaultbilling and defaultshipping (absent:
// NULL, false, false) and any address columns (addr1, city, country, …,
// address custom fields; addrtext is built from the parts unless given or
// override is true). A default set to true is cleared on the entity's other
// lines, and the parent's defaultbillingaddress/defaultshippingaddress
// follow. The address's lastmodifieddate is Now, and so is the parent's
// unless Options.BookChangesKeepParentLMD. An unknown entity, column or
// value type panics.
func (s *Server) AddAddressLine(parent string, entity int64, line Row) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, pt, lt, at := s.bookTables("AddAddressLine", parent)
	if _, ok := pt.byID[entity]; !ok {
		panic(fmt.Sprintf("netsuitetest: AddAddressLine: no %s %d", parent, entity))
	}
	lineRow, addrRow := Row{}, Row{}
	for k, v := range line {
		name := strings.ToLower(k)
		switch {
		case lineColumns[name]:
			lineRow[name] = v
		case at.has(name) && name != "nkey" && name != "recordowner" && name != "lastmodifieddate":
			addrRow[name] = v
		default:
			panic(fmt.Sprintf("netsuitetest: AddAddressLine: %q is neither a line column (label, defaultbilling, defaultshipping) nor an address column that can be set", k))
		}
	}
	now := s.now()
	internalid, nkey := s.nextLine, s.nextNkey
	s.nextLine++
	s.nextNkey++
	at.appendRow(s.addressCells(at, nkey, entity, now, addrParts{}))
	arow := at.n - 1
	s.putAddressFields("AddAddressLine", at, arow, addrRow, now)
	lt.appendRow(lineCells(lt, entity, internalid, nkey, "", false, false))
	s.setLineFlags("AddAddressLine", lt, lt.n-1, lineRow)
	s.syncDefaults(b, entity)
	s.touchBookParent(b, entity, now)
	return internalid
}

// RemoveAddressLine removes a line of parent's address book and its address
// (from the book's address table and entityaddress) and reports whether the
// line existed. NetSuite keeps no deletedrecord row for it (§10.2). The
// parent's default columns follow, and its lastmodifieddate becomes Now
// unless Options.BookChangesKeepParentLMD.
func (s *Server) RemoveAddressLine(parent string, internalid int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeAddressLine("RemoveAddressLine", parent, internalid)
}

func (s *Server) removeAddressLine(fn, parent string, internalid int64) bool {
	b, _, lt, at := s.bookTables(fn, parent)
	row := lt.firstWhere("internalid", internalid)
	if row < 0 {
		return false
	}
	entity, nkey := lt.cellAt(row, "entity").i, lt.cellAt(row, "addressbookaddress").i
	lt.removeRow(row)
	s.removeAddress(at, nkey)
	s.syncDefaults(b, entity)
	s.touchBookParent(b, entity, s.now())
	return true
}

// SetAddressLine changes a line's label, defaultbilling or defaultshipping
// (the keys of line; anything else panics). A default set to true is cleared
// on the entity's other lines; the parent's defaultbillingaddress and
// defaultshippingaddress follow. The parent's lastmodifieddate becomes Now
// unless Options.BookChangesKeepParentLMD; the address's does not move.
func (s *Server) SetAddressLine(parent string, internalid int64, line Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, lt, _ := s.bookTables("SetAddressLine", parent)
	row := s.line("SetAddressLine", lt, internalid)
	entity := lt.cellAt(row, "entity").i
	s.setLineFlags("SetAddressLine", lt, row, line)
	s.syncDefaults(b, entity)
	s.touchBookParent(b, entity, s.now())
}

// removeEntityChildren removes a parent's lines, their addresses and (for a
// customer) its memberships, leaving no deletedrecord rows. Callers hold mu.
func (s *Server) removeEntityChildren(parent string, entity int64) {
	if b, ok := bookOf(parent); ok {
		lt, at := s.tables[b.lines], s.tables[b.addrs]
		rows := lt.rowsWhere("entity", entity)
		for _, r := range rows {
			s.removeAddress(at, lt.cellAt(r, "addressbookaddress").i)
		}
		lt.removeRows(rows)
	}
	if st, ok := s.tables[subsidiaryTable]; ok && parent == "customer" {
		st.removeRows(st.rowsWhere("entity", entity))
	}
}

// subsidiaries returns the membership table or panics (NoOneWorld).
func (s *Server) subsidiaries(fn string) *table {
	st, ok := s.tables[subsidiaryTable]
	if !ok {
		panic("netsuitetest: " + fn + ": the account is not OneWorld (Options.NoOneWorld)")
	}
	return st
}

// makePrimary makes row the entity's only primary membership and sets the
// customer's subsidiary to its subsidiary; other rows that lose the flag are
// stamped.
func (s *Server) makePrimary(st *table, row int, now int64) {
	entity := st.cellAt(row, "entity").i
	for _, r := range st.rowsWhere("entity", entity) {
		if r != row && st.cellAt(r, "isprimarysub").i != 0 {
			st.setCellAt(r, "isprimarysub", boolCell(false))
			s.stampSubsidiary(st, r, now)
		}
	}
	st.setCellAt(row, "isprimarysub", boolCell(true))
	ct := s.tables["customer"]
	if crow, ok := ct.byID[entity]; ok {
		ct.setCellAt(crow, "subsidiary", st.cellAt(row, "subsidiary"))
	}
}

func (s *Server) stampSubsidiary(st *table, row int, now int64) {
	if st.has("lastmodifieddate") {
		st.setCellAt(row, "lastmodifieddate", datetimeCell(now, s.zone))
	}
}

// AddSubsidiary makes customer entity a member of subsidiary and returns the
// membership's id. With primary it becomes the customer's primary
// subsidiary: the previous primary membership loses the flag and
// customer.subsidiary changes. The membership's lastmodifieddate (unless
// Options.NoSubsidiaryLastModified) and the customer's become Now.
// primarycurrency is the customer's currency (1 when NULL). An unknown
// customer, a subsidiary the customer already has, or a non-OneWorld account
// panics.
func (s *Server) AddSubsidiary(entity, subsidiary int64, primary bool) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.subsidiaries("AddSubsidiary")
	ct := s.tables["customer"]
	crow, ok := ct.byID[entity]
	if !ok {
		panic(fmt.Sprintf("netsuitetest: AddSubsidiary: no customer %d", entity))
	}
	for _, r := range st.rowsWhere("entity", entity) {
		if st.cellAt(r, "subsidiary").i == subsidiary {
			panic(fmt.Sprintf("netsuitetest: AddSubsidiary: customer %d is already in subsidiary %d", entity, subsidiary))
		}
	}
	currency := int64(1)
	if c := ct.cellAt(crow, "currency"); !c.null {
		currency = c.i
	}
	now := s.now()
	id := s.appendSubsidiary(st, entity, subsidiary, false, currency, now)
	if primary || len(st.rowsWhere("entity", entity)) == 1 {
		s.makePrimary(st, st.n-1, now)
	}
	s.touch("customer", entity, now)
	return id
}

// RemoveSubsidiary ends a membership and reports whether it existed. No
// deletedrecord row is kept unless Options.SubsidiaryRemovalsInDeletedRecord
// (type 'customersubsidiaryrelationship'). The customer's lastmodifieddate
// becomes Now. Removing the primary membership panics: NetSuite requires a
// primary subsidiary (make another one primary first).
func (s *Server) RemoveSubsidiary(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeSubsidiary(id)
}

func (s *Server) removeSubsidiary(id int64) bool {
	st := s.subsidiaries("RemoveSubsidiary")
	row, ok := st.byID[id]
	if !ok {
		return false
	}
	if st.cellAt(row, "isprimarysub").i != 0 {
		panic(fmt.Sprintf("netsuitetest: RemoveSubsidiary: membership %d is the customer's primary subsidiary", id))
	}
	entity := st.cellAt(row, "entity").i
	st.removeRow(row)
	now := s.now()
	s.touch("customer", entity, now)
	if s.opts.SubsidiaryRemovalsInDeletedRecord {
		s.upsert("deletedrecord", Row{"recordid": id, "recordtypeid": deletedRecordTypeIDs[subsidiaryTable],
			"type": subsidiaryTable, "deletedby": int64(-5), "context": "UI"})
	}
	return true
}

// SetSubsidiary changes a membership: subsidiary, isprimarysub (true only:
// make another membership primary to take the flag away) or primarycurrency.
// Making it primary takes the flag from the previous primary membership
// (stamped too) and sets customer.subsidiary; changing the primary
// membership's subsidiary changes customer.subsidiary. The membership's
// lastmodifieddate (if the table has it) and the customer's become Now. An
// unknown id, another column, or a subsidiary the customer already has
// panics.
func (s *Server) SetSubsidiary(id int64, r Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.subsidiaries("SetSubsidiary")
	row, ok := st.byID[id]
	if !ok {
		panic(fmt.Sprintf("netsuitetest: SetSubsidiary: no membership %d", id))
	}
	entity := st.cellAt(row, "entity").i
	now := s.now()
	makePrimary := false
	for k, v := range r {
		name := strings.ToLower(k)
		switch name {
		case "subsidiary", "primarycurrency", "isprimarysub":
		default:
			panic(fmt.Sprintf("netsuitetest: SetSubsidiary: %q cannot be set (subsidiary, isprimarysub, primarycurrency)", k))
		}
		c, err := toCell(st.cols[st.index[name]], v, s.zone)
		if err != nil || c.null {
			panic(fmt.Sprintf("netsuitetest: SetSubsidiary: %s: %v %v", name, v, err))
		}
		switch name {
		case "isprimarysub":
			if c.i == 0 && st.cellAt(row, "isprimarysub").i != 0 {
				panic("netsuitetest: SetSubsidiary: a customer keeps a primary subsidiary; make another membership primary instead")
			}
			makePrimary = c.i != 0
		case "subsidiary":
			for _, o := range st.rowsWhere("entity", entity) {
				if o != row && st.cellAt(o, "subsidiary").i == c.i {
					panic(fmt.Sprintf("netsuitetest: SetSubsidiary: customer %d is already in subsidiary %d", entity, c.i))
				}
			}
			st.setCellAt(row, name, c)
		default:
			st.setCellAt(row, name, c)
		}
	}
	if makePrimary || st.cellAt(row, "isprimarysub").i != 0 {
		s.makePrimary(st, row, now)
	}
	s.stampSubsidiary(st, row, now)
	s.touch("customer", entity, now)
}

// syncPrimarySubsidiary follows a change of customer.subsidiary made through
// Upsert: the membership with that subsidiary becomes primary (created when
// there is none, or the primary membership moves to it when the customer has
// no such membership). Callers hold mu.
func (s *Server) syncPrimarySubsidiary(entity int64, now int64) {
	st, ok := s.tables[subsidiaryTable]
	ct := s.tables["customer"]
	crow, found := ct.byID[entity]
	if !ok || !found {
		return
	}
	sub := ct.cellAt(crow, "subsidiary")
	if sub.null {
		return
	}
	rows := st.rowsWhere("entity", entity)
	primary := -1
	for _, r := range rows {
		if st.cellAt(r, "subsidiary").i == sub.i {
			if st.cellAt(r, "isprimarysub").i == 0 {
				s.makePrimary(st, r, now)
				s.stampSubsidiary(st, r, now)
			}
			return
		}
		if st.cellAt(r, "isprimarysub").i != 0 {
			primary = r
		}
	}
	if primary >= 0 {
		st.setCellAt(primary, "subsidiary", sub)
		s.stampSubsidiary(st, primary, now)
		return
	}
	currency := int64(1)
	if c := ct.cellAt(crow, "currency"); !c.null {
		currency = c.i
	}
	s.appendSubsidiary(st, entity, sub.i, true, currency, now)
}

// AddressBook returns, for each address-book line of parent ("customer" or
// "contact"), the row a connector should output for it: the line's entity,
// internalid, label, defaultbilling, defaultshipping and addressbookaddress,
// then every column of its address (nkey, addressee … recordowner, address
// custom fields), lastmodifieddate being the address's. Sorted by entity,
// then internalid. Like Truth it ignores Options.NoAddressPermission.
func (s *Server) AddressBook(parent string) []Row {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, _, lt, at := s.bookTables("AddressBook", parent)
	byNkey := make(map[int64]int, at.n)
	for r := 0; r < at.n; r++ {
		byNkey[at.cellAt(r, "nkey").i] = r
	}
	out := make([]Row, 0, lt.n)
	for _, r := range lt.sortedRows() {
		row := lt.toRow(r)
		nkey := row["addressbookaddress"]
		arow, ok := byNkey[lt.cellAt(r, "addressbookaddress").i]
		for _, c := range at.cols {
			row[c.Name] = nil
		}
		if ok && nkey != nil {
			for k, v := range at.toRow(arow) {
				row[k] = v
			}
		}
		out = append(out, row)
	}
	return out // sortedRows orders lines by their key, (entity, internalid)
}
