package netsuitetest

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The generator produces deterministic (per Seed and table) rows shaped to
// break careless connectors: lastmodifieddate has heavy ties (bursts of up
// to 3,000 rows in one second, like a mass update or CSV import), some rows
// sit in the session zone's DST transitions (next to the spring gap and in
// both passes of the repeated autumn hour), text has Unicode, quotes,
// commas, newlines and a few very long values, optional columns are often
// NULL, and numbers include 0, negatives and fractions.

var (
	firstNames = []string{"Ana", "José", "Zoë", "François", "Łukasz", "Søren", "Mårten", "王芳", "Ngọc", "Анна",
		"Mary-Kate", "Seán", "Ünal", "Chloé", "Giulia", "Priya", "Kenji", "Olu", "Beyoncé", "Li"}
	lastNames = []string{"Smith", "O'Brien", "García", "Müller", "Nguyễn", "张伟", "D'Angelo", "van der Berg",
		"Ødegaard", "Kowalski", "Okafor", "Johnson", "Dupont", "Rossi", "Tanaka", "Schmidt"}
	companies = []string{"Acme Corp", "Smith, Jones & Co.", "Café Olé", "中文科技有限公司", "Rocket 🚀 Labs",
		`The "Quoted" Company`, "Ünïcödé GmbH", "O'Reilly Media", "Ñandú S.A.", "Zürich Re", "Initech",
		"Globex, Inc.", "Umbrella; Holdings", "Тест ООО", "Ωmega Partners", "Blue Sky 🌤️ Ltd"}
	jobTitles = []string{"CEO", "Directeur général", "经理", "Head of Ops, EMEA", "VP \"Growth\"", "Buyer", "CFO"}
	actTitles = []string{"Follow up", "Call re: invoice #123", "Quarterly review, Q3", "Démo produit", "会议",
		"Lunch 🍕", `Discuss "pricing"`, "Renewal — 2025", "Onboarding\tkick-off", "Check O'Brien's order"}
	messages = []string{"Customer asked for a call back.", "Line 1\nLine 2\nLine 3",
		"Said: \"ship it\",\nthen hung up", "多行\n文本", "Emoji ✅ and accents: àéîõü", "Comma, separated, words",
		"<p>HTML <b>body</b> &amp; entities</p>", "Tab\tseparated", "Back\\slash and 'quotes'"}
	locations  = []string{"Room 101", "Café de Flore, Paris", "北京", "Zoom", "HQ — 3rd floor"}
	longText   = strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing élit; ", 120)
	moneyVals  = []float64{0, 0.5, -0.25, 1234.56, 99.9, -1500, 10, 0.01, 250000, 12.5}
	creditVals = []float64{0, 5000, 10000.5, 25000, 1e6}
	percents   = []float64{0, 25, 50, 62.5, 100, 0.5}
)

type gen struct {
	rng        *rand.Rand
	z          sessionZone
	table      string
	n          int
	start, end int64 // lastmodifieddate window (instants)
	dates      map[int64]int64
}

type genRow struct {
	id       int64
	ids      string // id as text, built once per row
	lmd      int64
	created  int64
	isPerson bool
	first    string
	last     string
	company  string
	start    int64 // activity start instant
}

// generate appends n deterministic rows to t.
func generate(t *table, n int, seed int64, now time.Time, z sessionZone) {
	if n == 0 {
		return
	}
	h := fnv.New64a()
	h.Write([]byte(t.def.name))
	g := &gen{
		rng:   rand.New(rand.NewPCG(uint64(seed), h.Sum64())),
		z:     z,
		table: t.def.name,
		n:     n,
		dates: map[int64]int64{},
	}
	g.end = now.Add(-24*time.Hour).Truncate(time.Second).Unix() - 1
	g.start = g.end - 730*86400
	lmds := g.lastModifiedDates()

	t.grow(n)
	cells := make([]cell, len(t.cols))
	var id int64
	for i := 0; i < n; i++ {
		id++
		if i > 0 && g.rng.IntN(20) == 0 {
			id += 1 + g.rng.Int64N(20) // gaps: deleted or never-visible records
		}
		r := genRow{id: id, ids: strconv.FormatInt(id, 10), lmd: lmds[i]}
		r.created = r.lmd
		if g.rng.IntN(10) >= 3 {
			r.created = r.lmd - g.rng.Int64N(3*365*86400)
		}
		r.isPerson = g.rng.IntN(3) == 0
		r.first = pick(g.rng, firstNames)
		r.last = pick(g.rng, lastNames)
		r.company = pick(g.rng, companies)
		r.start = r.created + g.rng.Int64N(60*86400) - 30*86400
		for ci, c := range t.cols {
			if c.fk != fkNone {
				cells[ci] = null // filled below, from its own random stream
				continue
			}
			cells[ci] = g.value(c, &r)
		}
		t.appendRow(cells)
	}
	first := t.n - n
	for _, c := range t.cols {
		if c.fk != fkNone {
			generateCustom(t, c, first, seed, z)
		}
	}
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// pct reports true with probability p percent.
func (g *gen) pct(p int) bool { return g.rng.IntN(100) < p }

func (g *gen) dt(sec int64) cell { return datetimeCell(sec, g.z) }

// dateOf is the calendar date (in the session zone) of an instant.
func (g *gen) dateOf(sec int64) cell {
	day := floorDiv(g.z.wallOf(sec), 86400)
	inst, ok := g.dates[day]
	if !ok {
		inst = g.z.resolve(day * 86400)
		g.dates[day] = inst
	}
	return cell{i: inst, w: day * 86400}
}

func (g *gen) intIn(lo, hi int64) cell { return cell{i: lo + g.rng.Int64N(hi-lo+1)} }

func (g *gen) text(s string) cell {
	if s == "" {
		return cell{null: true}
	}
	return cell{s: s}
}

func boolCell(b bool) cell {
	if b {
		return cell{i: 1}
	}
	return cell{i: 0}
}

var null = cell{null: true}

// value generates one column of one row. Shared column names mean the same
// thing in every table; table-specific flavour is switched on g.table.
func (g *gen) value(c *colStore, r *genRow) cell {
	ids := r.ids
	switch c.Name {
	case "id":
		return cell{i: r.id}
	case "recordid":
		return cell{i: r.id}
	case "lastmodifieddate", "deleteddate":
		return g.dt(r.lmd)
	case "datecreated", "createddate":
		return g.dt(r.created)
	case "entityid":
		if g.table == "customer" && !r.isPerson {
			if g.pct(50) {
				return g.text("CUST" + ids)
			}
			return g.text(r.company + " " + ids)
		}
		return g.text(r.first + " " + r.last + " " + ids)
	case "externalid":
		switch {
		case g.pct(40):
			return null
		case g.pct(2):
			return g.text("ext-é-" + ids)
		}
		return g.text("EXT-" + ids)
	case "companyname":
		if r.isPerson && g.pct(70) {
			return null
		}
		return g.text(r.company)
	case "altname":
		if r.isPerson {
			return g.text(r.first + " " + r.last)
		}
		return g.text(r.company)
	case "firstname":
		if g.table == "customer" && !r.isPerson {
			return null
		}
		return g.text(r.first)
	case "lastname":
		if g.table == "customer" && !r.isPerson {
			return null
		}
		return g.text(r.last)
	case "isperson":
		return boolCell(r.isPerson)
	case "email":
		switch {
		case g.pct(20):
			return null
		case g.pct(3):
			return g.text("josé." + ids + "@exämple.com")
		}
		return g.text("user" + ids + "@example.com")
	case "phone":
		if g.pct(30) {
			return null
		}
		return g.text("+1 (555) 01" + strconv.Itoa(10+g.rng.IntN(90)) + "-" + strconv.Itoa(1000+g.rng.IntN(9000)))
	case "isinactive":
		return boolCell(g.pct(10))
	case "parent", "supervisor":
		if g.pct(85) || r.id < 2 {
			return null
		}
		return g.intIn(1, r.id-1)
	case "currency":
		return g.intIn(1, 5)
	case "defaultbillingaddress":
		// Overwritten by the address books (children.go). The draws stay for
		// customer so that its other columns keep their values per Seed; a
		// contact never drew any.
		if g.table != "customer" {
			return null
		}
		if g.pct(30) {
			return null
		}
		return cell{i: r.id*10 + 1}
	case "defaultshippingaddress":
		if g.table != "customer" {
			return null
		}
		if g.pct(30) {
			return null
		}
		return cell{i: r.id*10 + 2}
	case "receivablesaccount":
		if g.pct(20) {
			return null
		}
		return g.intIn(119, 121)
	case "firstorderdate":
		if g.pct(50) {
			return null
		}
		return g.dateOf(r.created + g.rng.Int64N(r.lmd-r.created+1))
	case "subsidiary":
		return g.intIn(1, 3)
	case "entitystatus":
		return g.intIn(6, 13)
	case "salesrep", "organizer", "owner", "assigned", "deletedby":
		switch {
		case g.pct(20):
			return null
		case g.pct(10):
			return cell{i: -5} // NetSuite's built-in system/administrator entity
		}
		return g.intIn(3, 250)
	case "terms", "category", "contactsource":
		if g.pct(30) {
			return null
		}
		return g.intIn(0, 4) // 0 included on purpose
	case "balance":
		if g.pct(10) {
			return null
		}
		return cell{f: pick(g.rng, moneyVals)}
	case "creditlimit":
		if g.pct(50) {
			return null
		}
		return cell{f: pick(g.rng, creditVals)}
	case "company", "contact":
		if g.pct(25) {
			return null
		}
		return g.intIn(1, int64(g.n)+int64(g.n)/10+1)
	case "title":
		if g.table == "contact" {
			if g.pct(30) {
				return null
			}
			return g.text(pick(g.rng, jobTitles))
		}
		return g.text(pick(g.rng, actTitles) + " #" + ids)
	case "status":
		switch g.table {
		case "calendarevent":
			return g.text(pick(g.rng, []string{"CONFIRMED", "TENTATIVE", "CANCELLED"}))
		case "task":
			return g.text(pick(g.rng, []string{"NOTSTART", "PROGRESS", "COMPLETE", "DEFERRED", "WAITING"}))
		}
		return g.text(pick(g.rng, []string{"SCHEDULED", "COMPLETE"}))
	case "priority":
		return g.text(pick(g.rng, []string{"HIGH", "MEDIUM", "LOW"}))
	case "accesslevel":
		return g.text(pick(g.rng, []string{"PUBLIC", "PRIVATE", "SHOWASBUSY"}))
	case "startdate":
		return g.dateOf(r.start)
	case "duedate", "enddate":
		if g.pct(40) {
			return null
		}
		return g.dateOf(r.start + g.rng.Int64N(14*86400))
	case "completeddate":
		if g.pct(60) {
			return null
		}
		return g.dateOf(r.start + g.rng.Int64N(30*86400))
	case "starttime":
		if g.pct(20) {
			return null
		}
		return g.dt(r.start)
	case "endtime":
		if g.pct(20) {
			return null
		}
		return g.dt(r.start + 900*(1+g.rng.Int64N(8)))
	case "alldayevent", "timedevent", "iscustomlist", "iscustomrecord", "iscustomtransaction":
		return boolCell(g.pct(30))
	case "location":
		if g.pct(60) {
			return null
		}
		return g.text(pick(g.rng, locations))
	case "message":
		switch {
		case g.pct(40):
			return null
		case g.rng.IntN(500) == 0:
			return g.text(longText + ids)
		}
		return g.text(pick(g.rng, messages))
	case "supportcase", "transaction":
		if g.pct(90) {
			return null
		}
		return g.intIn(1, 100000)
	case "percentcomplete":
		if g.pct(30) {
			return null
		}
		return cell{f: pick(g.rng, percents)}
	case "recordtypeid":
		return g.intIn(-10, -1)
	case "name":
		return g.text(r.first + " " + r.last)
	case "scriptid":
		if g.pct(50) {
			return null
		}
		return g.text("customrecord_" + ids)
	case "type":
		return g.text(pick(g.rng, []string{"customer", "contact", "calendarevent", "task", "phonecall"}))
	case "context":
		return g.text(pick(g.rng, []string{"UI", "CSV", "WEBSERVICES", "SCHEDULED"}))
	}
	// A catalog column without a rule: leave it NULL rather than guess.
	return null
}

// lastModifiedDates returns n instants in [start, end], shuffled: bursts of
// identical seconds, rows around every DST transition in the window, and the
// rest spread uniformly (with some small natural ties).
func (g *gen) lastModifiedDates() []int64 {
	n := g.n
	out := make([]int64, 0, n)

	// DST neighbourhoods first, so that even small tables get some.
	budget := max(n/50, min(n, 12))
	trans := g.transitions()
	for i, tr := range trans {
		share := budget / len(trans)
		if i < budget%len(trans) {
			share++
		}
		out = append(out, g.dstInstants(tr, share)...)
	}

	// Bursts: mass updates that stamp many rows with one second.
	burstMax := min(3000, max(1, n/20))
	burstMin := min(50, burstMax)
	for burstRows := n * 3 / 10; burstRows > 0 && len(out) < n; {
		size := min(burstMin+g.rng.IntN(burstMax-burstMin+1), burstRows, n-len(out))
		sec := g.start + g.rng.Int64N(g.end-g.start+1)
		for range size {
			out = append(out, sec)
		}
		burstRows -= size
	}

	for len(out) < n {
		if len(out) > 0 && g.pct(10) {
			out = append(out, out[len(out)-1]) // small natural ties
			continue
		}
		out = append(out, g.start+g.rng.Int64N(g.end-g.start+1))
	}
	out = out[:n]
	for i := range out {
		out[i] = min(max(out[i], g.start), g.end)
	}
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

type transition struct {
	at       int64 // first instant with the new offset
	old, new int64 // offsets in seconds
}

// transitions finds the session zone's UTC-offset changes inside the window.
func (g *gen) transitions() []transition {
	var out []transition
	const step = 6 * 3600
	prev := g.z.offsetAt(g.start)
	for t := g.start + step; t <= g.end+step; t += step {
		off := g.z.offsetAt(t)
		if off == prev {
			continue
		}
		lo, hi := t-step, t // offset changes in (lo, hi]
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if g.z.offsetAt(mid) == prev {
				lo = mid
			} else {
				hi = mid
			}
		}
		if hi-3*3600 > g.start && hi+3*3600 < g.end {
			out = append(out, transition{at: hi, old: prev, new: off})
		}
		prev = off
	}
	return out
}

// dstInstants places k instants around one transition. For a fall-back
// transition it uses the same local times in both passes of the repeated
// hour (and ties within each pass), which is where local-time cursors break.
func (g *gen) dstInstants(tr transition, k int) []int64 {
	out := make([]int64, 0, k)
	add := func(v int64) {
		if len(out) < k {
			out = append(out, v)
		}
	}
	add(tr.at - 1)
	add(tr.at)
	if tr.new < tr.old { // autumn: [at-delta, at) and [at, at+delta) share local times
		delta := tr.old - tr.new
		half := delta / 2
		for i := 0; i < 3 && len(out) < k; i++ {
			add(tr.at - delta + half) // e.g. 01:30:00 on the first pass
			add(tr.at + half)         // 01:30:00 again, one hour later
		}
		for len(out) < k {
			u := g.rng.Int64N(delta)
			add(tr.at - delta + u)
			add(tr.at + u)
		}
		return out
	}
	for len(out) < k { // spring: the hours either side of the gap
		add(tr.at - 7200 + g.rng.Int64N(4*3600))
	}
	return out
}
