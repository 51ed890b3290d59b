package netsuitetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

var childTables = []string{"customeraddressbook", "customeraddressbookentityaddress", "contactaddressbook",
	"contactaddressbookentityaddress", "entityaddress", "customersubsidiaryrelationship"}

// checkChildInvariants asserts what every mutation must preserve: lines point
// at addresses of their book owned by their entity, internalids and nkeys are
// unique, at most one default billing and one default shipping line per
// entity and the parent's default columns name them, entityaddress is the
// union of both books' addresses, each customer with a subsidiary has exactly
// one primary membership with that subsidiary.
func checkChildInvariants(t *testing.T, s *Server) {
	t.Helper()
	internalids := map[int64]bool{}
	union := map[int64]Row{}
	for _, b := range books {
		addrs := map[int64]Row{}
		for _, a := range s.Truth(b.addrs) {
			nkey := a["nkey"].(int64)
			if _, dup := union[nkey]; dup {
				t.Fatalf("nkey %d twice", nkey)
			}
			addrs[nkey], union[nkey] = a, a
		}
		type defaults struct{ bill, ship any }
		derived := map[int64]*defaults{}
		used := map[int64]bool{}
		for _, l := range s.Truth(b.lines) {
			id, entity, nkey := l["internalid"].(int64), l["entity"].(int64), l["addressbookaddress"].(int64)
			if internalids[id] {
				t.Fatalf("internalid %d twice", id)
			}
			internalids[id] = true
			a, ok := addrs[nkey]
			if !ok || used[nkey] {
				t.Fatalf("%s line %d: address %d missing or shared", b.lines, id, nkey)
			}
			used[nkey] = true
			if a["recordowner"] != entity {
				t.Fatalf("%s line %d: recordowner %v, entity %d", b.lines, id, a["recordowner"], entity)
			}
			d := derived[entity]
			if d == nil {
				d = &defaults{}
				derived[entity] = d
			}
			if l["defaultbilling"] == true {
				if d.bill != nil {
					t.Fatalf("%s %d: two default billing lines", b.parent, entity)
				}
				d.bill = nkey
			}
			if l["defaultshipping"] == true {
				if d.ship != nil {
					t.Fatalf("%s %d: two default shipping lines", b.parent, entity)
				}
				d.ship = nkey
			}
		}
		if len(used) != len(addrs) {
			t.Fatalf("%s: %d addresses, %d used by lines", b.addrs, len(addrs), len(used))
		}
		for _, p := range s.Truth(b.parent) {
			d := derived[p["id"].(int64)]
			if d == nil {
				d = &defaults{}
			}
			if p["defaultbillingaddress"] != d.bill || p["defaultshippingaddress"] != d.ship {
				t.Fatalf("%s %v: defaults %v/%v, lines say %v/%v", b.parent, p["id"], p["defaultbillingaddress"], p["defaultshippingaddress"], d.bill, d.ship)
			}
			delete(derived, p["id"].(int64))
		}
		if len(derived) > 0 {
			t.Fatalf("%s: lines of missing parents %v", b.lines, derived)
		}
	}
	all := s.Truth("entityaddress")
	if len(all) != len(union) {
		t.Fatalf("entityaddress has %d rows, the books %d", len(all), len(union))
	}
	for _, a := range all {
		if !reflect.DeepEqual(a, union[a["nkey"].(int64)]) {
			t.Fatalf("entityaddress %v\n  book %v", a, union[a["nkey"].(int64)])
		}
	}
	if _, ok := s.tables[subsidiaryTable]; !ok {
		return
	}
	type member struct{ primary []int64 }
	members := map[int64]*member{}
	seen := map[[2]int64]bool{}
	for _, m := range s.Truth(subsidiaryTable) {
		e, sub := m["entity"].(int64), m["subsidiary"].(int64)
		if seen[[2]int64{e, sub}] {
			t.Fatalf("customer %d twice in subsidiary %d", e, sub)
		}
		seen[[2]int64{e, sub}] = true
		if members[e] == nil {
			members[e] = &member{}
		}
		if m["isprimarysub"] == true {
			members[e].primary = append(members[e].primary, sub)
		}
	}
	for _, c := range s.Truth("customer") {
		m := members[c["id"].(int64)]
		delete(members, c["id"].(int64))
		if c["subsidiary"] == nil {
			continue
		}
		if m == nil || len(m.primary) != 1 || m.primary[0] != c["subsidiary"] {
			t.Fatalf("customer %v (subsidiary %v): primary memberships %+v", c["id"], c["subsidiary"], m)
		}
	}
	if len(members) > 0 {
		t.Fatalf("memberships of missing customers: %v", members)
	}
}

// TestChildrenGenerated checks the generated address books and memberships.
func TestChildrenGenerated(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"customer": 3000, "contact": 2000}, Seed: 21, CustomFields: StandardCustomFields()})
	checkChildInvariants(t, s)

	perEntity := map[string]map[int64]int{}
	for _, b := range books {
		perEntity[b.parent] = map[int64]int{}
		for _, l := range s.Truth(b.lines) {
			perEntity[b.parent][l["entity"].(int64)]++
		}
		counts := map[int]int{}
		for _, p := range s.Truth(b.parent) {
			counts[perEntity[b.parent][p["id"].(int64)]]++
		}
		for k := 0; k <= 4; k++ {
			if counts[k] == 0 {
				t.Errorf("%s: no entity with %d lines (%v)", b.parent, k, counts)
			}
		}
		if len(counts) != 5 {
			t.Errorf("%s: line counts %v, want 0 to 4", b.parent, counts)
		}
	}

	latest, earliest := fixedNow.Add(-24*time.Hour), fixedNow.AddDate(-2, 0, -3)
	countries := map[any]int{}
	nulls, present := map[string]int{}, map[string]int{}
	scripts := map[string]int{}
	var multiLine, overridden, labelled, unlabelled, customSet int
	for _, a := range s.Truth("entityaddress") {
		lmd := a["lastmodifieddate"].(time.Time)
		if lmd.After(latest) || lmd.Before(earliest) {
			t.Fatalf("nkey %v: lastmodifieddate %v outside the window", a["nkey"], lmd)
		}
		countries[a["country"]]++
		for k, v := range a {
			if v == nil {
				nulls[k]++
			} else {
				present[k]++
			}
		}
		text, _ := a["addrtext"].(string)
		if strings.Contains(text, "\n") {
			multiLine++
		}
		for _, r := range fmt.Sprint(a["addr1"], a["city"], a["addressee"], a["attention"]) {
			switch {
			case unicode.Is(unicode.Cyrillic, r):
				scripts["Cyrillic"]++
			case unicode.Is(unicode.Han, r):
				scripts["CJK"]++
			case unicode.Is(unicode.Greek, r):
				scripts["Greek"]++
			case unicode.Is(unicode.Arabic, r):
				scripts["Arabic"]++
			}
		}
		if a["override"] == true {
			overridden++
		} else if !strings.Contains(text, fmt.Sprint(a["city"])) && a["city"] != nil {
			t.Errorf("nkey %v: addrtext %q lacks the city %v", a["nkey"], text, a["city"])
		}
		if a["custrecord_addr_verified"] != nil || a["custrecord_delivery_notes"] != nil {
			customSet++
		}
	}
	for _, c := range []string{"US", "GB", "DE", "FR", "JP", "BR", "CA", "AU", "IN"} {
		if countries[c] == 0 {
			t.Errorf("no address in %s (%v)", c, countries)
		}
	}
	for _, sc := range []string{"Cyrillic", "CJK", "Greek", "Arabic"} {
		if scripts[sc] == 0 {
			t.Errorf("no %s text", sc)
		}
	}
	for _, col := range []string{"addr2", "addr3", "state", "zip", "addrphone", "attention", "dropdownstate", "addressee"} {
		if nulls[col] == 0 || present[col] == 0 {
			t.Errorf("%s: %d NULL, %d set; want both", col, nulls[col], present[col])
		}
	}
	if multiLine == 0 || overridden == 0 || customSet == 0 {
		t.Errorf("multi-line addrtext %d, overridden %d, with custom values %d", multiLine, overridden, customSet)
	}
	for _, l := range s.Truth("customeraddressbook") {
		if l["label"] == nil {
			unlabelled++
		} else {
			labelled++
		}
	}
	if labelled == 0 || unlabelled == 0 {
		t.Errorf("labels: %d set, %d NULL", labelled, unlabelled)
	}

	extra := map[int64]int{}
	for _, m := range s.Truth(subsidiaryTable) {
		if m["isprimarysub"] == false {
			extra[m["entity"].(int64)]++
		}
		if m["lastmodifieddate"] == nil || m["primarycurrency"] == nil {
			t.Fatalf("membership %v", m)
		}
	}
	byCount := map[int]int{}
	for _, n := range extra {
		byCount[n]++
	}
	if byCount[1] == 0 || byCount[2] == 0 || byCount[3] == 0 || len(byCount) != 3 || len(extra) == 3000 {
		t.Errorf("customers by number of extra subsidiaries: %v (of 3000)", byCount)
	}
}

// TestChildrenDeterministic: the child tables depend only on Seed (and the
// parents), and generating them leaves the parents' other columns as they
// were before address books existed (hashes computed by the fake before it
// had address books, Seed 42, 800 rows each, StandardCustomFields).
func TestChildrenDeterministic(t *testing.T) {
	opts := Options{Rows: map[string]int{"customer": 800, "contact": 800}, Seed: 42, CustomFields: StandardCustomFields()}
	a, b := startServer(t, opts), startServer(t, opts)
	opts.Seed = 43
	c := startServer(t, opts)
	for _, tb := range childTables {
		if !reflect.DeepEqual(a.Truth(tb), b.Truth(tb)) {
			t.Errorf("%s: same seed, different rows", tb)
		}
		if reflect.DeepEqual(a.Truth(tb), c.Truth(tb)) {
			t.Errorf("%s: different seeds, same rows", tb)
		}
	}
	if !reflect.DeepEqual(a.AddressBook("contact"), b.AddressBook("contact")) {
		t.Error("AddressBook differs for the same seed")
	}
	golden := map[string]string{
		"customer": "5ec9ff9453782c849ed11eb16bf1740e22d30b7c656095c42ffe0ad014c82f81",
		"contact":  "b7978ae31f86e45c4bb4b8622cdf35b63bf27d3b13d6d2e5b9e13f390f4f2bd0",
	}
	for tb, want := range golden {
		rows := a.Truth(tb)
		for _, r := range rows {
			delete(r, "defaultbillingaddress")
			delete(r, "defaultshippingaddress")
		}
		j, _ := json.Marshal(rows)
		if got := fmt.Sprintf("%x", sha256.Sum256(j)); got != want {
			t.Errorf("%s: the generated columns changed for Seed 42 (hash %s)", tb, got)
		}
	}
}

// TestChildColumnsCovered: every column of every child table gets values.
func TestChildColumnsCovered(t *testing.T) {
	s := startServer(t, Options{Rows: map[string]int{"customer": 500, "contact": 500}, Seed: 4, CustomFields: StandardCustomFields()})
	for _, tb := range childTables {
		seen := map[string]bool{}
		for _, r := range s.Truth(tb) {
			for k, v := range r {
				if v != nil && v != false {
					seen[k] = true
				}
			}
		}
		for _, c := range s.Columns(tb) {
			if !seen[c.Name] {
				t.Errorf("%s.%s is always NULL (or false)", tb, c.Name)
			}
		}
	}
	if got := ChildTables(); !reflect.DeepEqual(got, childTables) {
		t.Errorf("ChildTables() = %v", got)
	}
	for _, tb := range Tables() {
		if slices.Contains(childTables, tb) {
			t.Errorf("Tables() lists the child table %s", tb)
		}
	}
	if _, err := New(Options{Rows: map[string]int{"customeraddressbook": 5}}); err == nil || !strings.Contains(err.Error(), "child tables") {
		t.Errorf("Rows of a child table: %v", err)
	}
}

// aliased renders items over the select aliases a, b, c, d that sql uses.
func aliased(items []map[string]any, sql string) string {
	var cols []string
	for _, a := range []string{"a", "b", "c", "d"} {
		if strings.Contains(sql, " AS "+a+" ") || strings.Contains(sql, " AS "+a+",") {
			cols = append(cols, a)
		}
	}
	return cells(items, cols)
}

// lmdOf reads a row's lastmodifieddate through SuiteQL, in the session zone.
func lmdOf(t *testing.T, s *Server, tok, table, key string, id int64) string {
	t.Helper()
	p := mustQuery(t, s, tok, fmt.Sprintf("SELECT TO_CHAR(lastmodifieddate, %s) AS lmd FROM %s WHERE %s = %d", ts, table, key, id), 1000, 0)
	if len(p.Items) != 1 {
		t.Fatalf("%s %s=%d: %d rows", table, key, id, len(p.Items))
	}
	return fmt.Sprint(p.Items[0]["lmd"])
}

func localStamp(c *clock) string {
	loc, _ := time.LoadLocation("America/Los_Angeles")
	return c.Now().In(loc).Format("2006-01-02 15:04:05")
}

func TestAddressMutations(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("BookChangesKeepParentLMD=%v", keep), func(t *testing.T) {
			s, c := joinAccount(t, Options{BookChangesKeepParentLMD: keep, CustomFields: StandardCustomFields()})
			tok := fetchToken(t, s)
			before := func() string { return localStamp(c) }
			q := func(sql string) string {
				t.Helper()
				return aliased(mustQuery(t, s, tok, sql, 1000, 0).Items, sql)
			}
			parentLMD := func(id int64) string { return lmdOf(t, s, tok, "customer", "id", id) }

			// EditAddress: the address row and its entityaddress copy change and are
			// stamped; the parent is not.
			c.Advance(time.Hour)
			c1, addr1 := parentLMD(1), lmdOf(t, s, tok, "customeraddressbookentityaddress", "nkey", 100000)
			s.EditAddress("customer", 1, Row{"city": "Hamburg", "zip": nil, "custrecord_addr_verified": true})
			if got := q("SELECT city AS a, zip AS b, addrtext AS c, custrecord_addr_verified AS d FROM customeraddressbookentityaddress WHERE nkey = 100000"); got != "Hamburg|∅|Friedrichstraße 43\nHamburg\nGermany|T" {
				t.Errorf("after EditAddress: %q", got)
			}
			if got := q("SELECT city AS a FROM entityaddress WHERE nkey = 100000"); got != "Hamburg" {
				t.Errorf("entityaddress after EditAddress: %q", got)
			}
			if got := lmdOf(t, s, tok, "customeraddressbookentityaddress", "nkey", 100000); got != before() || got == addr1 {
				t.Errorf("address lastmodifieddate %s, want %s", got, before())
			}
			if lmdOf(t, s, tok, "entityaddress", "nkey", 100000) != before() {
				t.Error("entityaddress lastmodifieddate not stamped")
			}
			if parentLMD(1) != c1 {
				t.Error("EditAddress moved the customer's lastmodifieddate")
			}
			s.EditAddress("customer", 1, Row{"override": true, "addrtext": "Freitext\nZeile 2"})
			s.EditAddress("customer", 1, Row{"city": "Bremen"})
			if got := q("SELECT city AS a, addrtext AS b FROM customeraddressbookentityaddress WHERE nkey = 100000"); got != "Bremen|Freitext\nZeile 2" {
				t.Errorf("an overridden addrtext was rebuilt: %q", got)
			}

			// AddAddressLine with a default takes it from the other line.
			c.Advance(time.Minute)
			addrLMD3 := lmdOf(t, s, tok, "customeraddressbookentityaddress", "nkey", 100002)
			old2 := parentLMD(2)
			id := s.AddAddressLine("customer", 2, Row{"label": "Depot", "defaultshipping": true, "addr1": "Marienplatz 8", "city": "München", "country": "DE", "custrecord_delivery_notes": "Tor 2"})
			if id != 6 {
				t.Errorf("new internalid %d, want 6 (after the contact's 5)", id)
			}
			if got := q("SELECT internalid AS a, defaultbilling AS b, defaultshipping AS c, addressbookaddress AS d FROM customeraddressbook WHERE entity = 2 ORDER BY internalid"); got != "3|T|F|100002;6|F|T|100005" {
				t.Errorf("lines after AddAddressLine: %q", got)
			}
			if got := q("SELECT defaultbillingaddress AS a, defaultshippingaddress AS b FROM customer WHERE id = 2"); got != "100002|100005" {
				t.Errorf("customer defaults: %q", got)
			}
			if got := q("SELECT e.addrtext AS a, e.custrecord_delivery_notes AS b, e.recordowner AS c FROM customeraddressbook ab JOIN entityaddress e ON e.nkey = ab.addressbookaddress WHERE ab.internalid = 6"); got != "Marienplatz 8\nMünchen\nGermany|Tor 2|2" {
				t.Errorf("new address: %q", got)
			}
			if lmdOf(t, s, tok, "customeraddressbookentityaddress", "nkey", 100005) != before() || lmdOf(t, s, tok, "customeraddressbookentityaddress", "nkey", 100002) != addrLMD3 {
				t.Error("AddAddressLine: the new address must be stamped, the other line's address not")
			}
			wantParent := func(id int64, old string) {
				t.Helper()
				switch got := parentLMD(id); {
				case keep && got != old:
					t.Errorf("customer %d lastmodifieddate moved to %s with BookChangesKeepParentLMD", id, got)
				case !keep && got != before():
					t.Errorf("customer %d lastmodifieddate %s, want %s", id, got, before())
				}
			}
			wantParent(2, old2)

			// SetAddressLine: flags and label; the parent follows, the address does not move.
			c.Advance(time.Minute)
			old1 := parentLMD(1)
			s.SetAddressLine("customer", 2, Row{"label": "Rechnung", "defaultbilling": true, "defaultshipping": false})
			if got := q("SELECT internalid AS a, label AS b, defaultbilling AS c, defaultshipping AS d FROM customeraddressbook WHERE entity = 1 ORDER BY internalid"); got != "1|HQ|F|F;2|Rechnung|T|F" {
				t.Errorf("lines after SetAddressLine: %q", got)
			}
			if got := q("SELECT defaultbillingaddress AS a, defaultshippingaddress AS b FROM customer WHERE id = 1"); got != "100001|∅" {
				t.Errorf("customer defaults after SetAddressLine: %q", got)
			}
			if lmdOf(t, s, tok, "customeraddressbookentityaddress", "nkey", 100001) == before() {
				t.Error("SetAddressLine stamped the address")
			}
			wantParent(1, old1)

			// RemoveAddressLine: gone from all three tables, no deletedrecord row.
			c.Advance(time.Minute)
			old1 = parentLMD(1)
			if !s.RemoveAddressLine("customer", 2) || s.RemoveAddressLine("customer", 2) {
				t.Error("RemoveAddressLine: want true then false")
			}
			for _, sql := range []string{"SELECT internalid FROM customeraddressbook WHERE internalid = 2",
				"SELECT nkey FROM customeraddressbookentityaddress WHERE nkey = 100001", "SELECT nkey FROM entityaddress WHERE nkey = 100001",
				"SELECT recordid FROM deletedrecord"} {
				if p := mustQuery(t, s, tok, sql, 1000, 0); p.total() != 0 {
					t.Errorf("%s: %v", sql, p.Items)
				}
			}
			if got := q("SELECT defaultbillingaddress AS a, defaultshippingaddress AS b FROM customer WHERE id = 1"); got != "∅|∅" {
				t.Errorf("customer defaults after removing its default line: %q", got)
			}
			wantParent(1, old1)

			// Contacts have the same book.
			c.Advance(time.Minute)
			oldContact := lmdOf(t, s, tok, "contact", "id", 10)
			s.SetAddressLine("contact", 5, Row{"defaultbilling": true})
			if got := q("SELECT defaultbillingaddress AS a FROM contact WHERE id = 10"); got != "100004" {
				t.Errorf("contact default: %q", got)
			}
			if got := lmdOf(t, s, tok, "contact", "id", 10); (got == oldContact) != keep {
				t.Errorf("contact lastmodifieddate %s (was %s)", got, oldContact)
			}
			checkChildInvariants(t, s)

			// Delete cascades without deletedrecord rows for the children.
			c.Advance(time.Minute)
			if !s.Delete("customer", 2) {
				t.Fatal("Delete customer 2")
			}
			for _, sql := range []string{"SELECT internalid FROM customeraddressbook WHERE entity = 2",
				"SELECT nkey FROM entityaddress WHERE recordowner = 2", "SELECT id FROM customersubsidiaryrelationship WHERE entity = 2"} {
				if p := mustQuery(t, s, tok, sql, 1000, 0); p.total() != 0 {
					t.Errorf("after Delete: %s: %v", sql, p.Items)
				}
			}
			if got := q("SELECT recordid AS a, type AS b FROM deletedrecord"); got != "2|customer" {
				t.Errorf("deletedrecord: %q", got)
			}
			if !s.Delete("contact", 10) || len(s.Truth("contactaddressbook")) != 0 || len(s.Truth("contactaddressbookentityaddress")) != 0 {
				t.Error("deleting the contact left its book")
			}
			checkChildInvariants(t, s)
		})
	}
}

// TestChildMisuse: what would break the invariants panics.
func TestChildMisuse(t *testing.T) {
	s, _ := joinAccount(t, Options{})
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("Upsert a line", func() { s.Upsert("customeraddressbook", Row{"entity": int64(1), "internalid": int64(99)}) })
	mustPanic("Upsert a membership", func() { s.Upsert("customersubsidiaryrelationship", Row{"id": int64(99)}) })
	mustPanic("Upsert a default the lines do not say", func() { s.Upsert("customer", Row{"id": int64(1), "defaultbillingaddress": int64(100001)}) })
	mustPanic("Upsert a default on a customer without lines", func() { s.Upsert("customer", Row{"id": int64(4), "defaultshippingaddress": int64(1)}) })
	mustPanic("a parent that is no entity", func() { s.AddAddressLine("task", 1, Row{}) })
	mustPanic("a missing entity", func() { s.AddAddressLine("customer", 99, Row{}) })
	mustPanic("an unknown column", func() { s.AddAddressLine("customer", 1, Row{"street": "x"}) })
	mustPanic("setting the nkey", func() { s.AddAddressLine("customer", 1, Row{"nkey": int64(5)}) })
	mustPanic("an address column in SetAddressLine", func() { s.SetAddressLine("customer", 1, Row{"city": "x"}) })
	mustPanic("a NULL flag", func() { s.SetAddressLine("customer", 1, Row{"defaultbilling": nil}) })
	mustPanic("EditAddress of a missing line", func() { s.EditAddress("customer", 99, Row{"city": "x"}) })
	mustPanic("EditAddress of another book's line", func() { s.EditAddress("contact", 1, Row{"city": "x"}) })
	mustPanic("EditAddress of recordowner", func() { s.EditAddress("customer", 1, Row{"recordowner": int64(2)}) })
	mustPanic("a second membership of one subsidiary", func() { s.AddSubsidiary(1, 5, false) })
	mustPanic("removing the primary membership", func() { s.RemoveSubsidiary(1) })
	mustPanic("un-flagging the primary membership", func() { s.SetSubsidiary(1, Row{"isprimarysub": false}) })
	mustPanic("SetSubsidiary of entity", func() { s.SetSubsidiary(5, Row{"entity": int64(2)}) })

	// A default given with the value the lines imply is fine; so is a round trip of Truth.
	s.Upsert("customer", Row{"id": int64(1), "defaultbillingaddress": int64(100000), "defaultshippingaddress": int64(100001)})
	s.Upsert("customer", s.Truth("customer")[3])
	if s.Delete("customeraddressbook", 99) || s.Delete("entityaddress", 5) || s.Delete("customersubsidiaryrelationship", 99) {
		t.Error("Delete of missing child rows reported true")
	}
	if !s.Delete("customeraddressbookentityaddress", 100003) || len(s.AddressBook("customer")) != 3 {
		t.Error("Delete of an address by nkey did not remove its line")
	}
	if !s.Delete("customeraddressbook", 1) || s.Truth("customer")[0]["defaultbillingaddress"] != nil {
		t.Error("Delete of a line by internalid")
	}
	if !s.Delete("customersubsidiaryrelationship", 5) || len(s.Truth("deletedrecord")) != 0 {
		t.Error("Delete of a membership")
	}
	checkChildInvariants(t, s)
}

func TestSubsidiaryMutations(t *testing.T) {
	for _, tomb := range []bool{false, true} {
		t.Run(fmt.Sprintf("SubsidiaryRemovalsInDeletedRecord=%v", tomb), func(t *testing.T) {
			s, c := joinAccount(t, Options{SubsidiaryRemovalsInDeletedRecord: tomb})
			tok := fetchToken(t, s)
			q := func(sql string) string {
				t.Helper()
				return aliased(mustQuery(t, s, tok, sql, 1000, 0).Items, sql)
			}
			members := "SELECT id AS a, subsidiary AS b, isprimarysub AS c, primarycurrency AS d FROM customersubsidiaryrelationship WHERE entity = 4 ORDER BY id"

			c.Advance(time.Hour)
			id := s.AddSubsidiary(4, 7, false)
			if id != 7 || q(members) != "4|3|T|1;7|7|F|1" || q("SELECT subsidiary AS a FROM customer WHERE id = 4") != "3" {
				t.Errorf("AddSubsidiary: id %d, %q", id, q(members))
			}
			if lmdOf(t, s, tok, subsidiaryTable, "id", 7) != localStamp(c) || lmdOf(t, s, tok, "customer", "id", 4) != localStamp(c) {
				t.Error("AddSubsidiary: the membership and the customer must be stamped")
			}
			first := lmdOf(t, s, tok, subsidiaryTable, "id", 4)

			c.Advance(time.Minute)
			s.AddSubsidiary(4, 8, true)
			if got := q(members); got != "4|3|F|1;7|7|F|1;8|8|T|1" || q("SELECT subsidiary AS a FROM customer WHERE id = 4") != "8" {
				t.Errorf("AddSubsidiary primary: %q", got)
			}
			if lmdOf(t, s, tok, subsidiaryTable, "id", 4) == first {
				t.Error("the membership that lost the primary flag was not stamped")
			}

			c.Advance(time.Minute)
			s.SetSubsidiary(7, Row{"isprimarysub": true, "primarycurrency": int64(4)})
			if got := q(members); got != "4|3|F|1;7|7|T|4;8|8|F|1" || q("SELECT subsidiary AS a FROM customer WHERE id = 4") != "7" {
				t.Errorf("SetSubsidiary: %q", got)
			}
			s.SetSubsidiary(7, Row{"subsidiary": int64(6)})
			if q("SELECT subsidiary AS a FROM customer WHERE id = 4") != "6" {
				t.Error("changing the primary membership's subsidiary must change the customer's")
			}

			// Upsert of customer.subsidiary moves the primary membership.
			s.Upsert("customer", Row{"id": int64(4), "subsidiary": int64(3)})
			if got := q(members); got != "4|3|T|1;7|6|F|4;8|8|F|1" {
				t.Errorf("after Upsert subsidiary 3: %q", got)
			}
			s.Upsert("customer", Row{"id": int64(4), "subsidiary": int64(2)})
			if got := q(members); got != "4|2|T|1;7|6|F|4;8|8|F|1" {
				t.Errorf("after Upsert subsidiary 2: %q", got)
			}
			s.Upsert("customer", Row{"id": int64(20), "subsidiary": int64(4), "currency": int64(3)})
			if got := q("SELECT subsidiary AS a, isprimarysub AS b, primarycurrency AS c FROM customersubsidiaryrelationship WHERE entity = 20"); got != "4|T|3" {
				t.Errorf("a new customer's membership: %q", got)
			}

			c.Advance(time.Minute)
			if !s.RemoveSubsidiary(8) || s.RemoveSubsidiary(8) {
				t.Error("RemoveSubsidiary: want true then false")
			}
			if lmdOf(t, s, tok, "customer", "id", 4) != localStamp(c) {
				t.Error("RemoveSubsidiary did not stamp the customer")
			}
			want := ""
			if tomb {
				want = "8|customersubsidiaryrelationship"
			}
			if got := q("SELECT recordid AS a, type AS b FROM deletedrecord"); got != want {
				t.Errorf("deletedrecord %q, want %q", got, want)
			}
			checkChildInvariants(t, s)
		})
	}
}

func TestSubsidiarySwitches(t *testing.T) {
	t.Run("NoSubsidiaryLastModified", func(t *testing.T) {
		s, c := joinAccount(t, Options{NoSubsidiaryLastModified: true})
		tok := fetchToken(t, s)
		r := suiteQL(t, s, tok, "SELECT id, lastmodifieddate FROM customersubsidiaryrelationship", 1000, 0)
		assertRejected(t, r, 400, "Unknown identifier 'lastmodifieddate'. Available identifiers are: {id, entity, subsidiary, isprimarysub, primarycurrency}")
		c.Advance(time.Hour)
		s.AddSubsidiary(2, 4, false)
		if lmdOf(t, s, tok, "customer", "id", 2) != localStamp(c) {
			t.Error("the customer must still be stamped")
		}
		if got := mustQuery(t, s, tok, "SELECT * FROM customersubsidiaryrelationship WHERE entity = 2 ORDER BY id", 1000, 0).Items; len(got) != 2 || len(got[1]) != 6 {
			t.Errorf("memberships %v", got)
		}
	})
	t.Run("OneWorld by default", func(t *testing.T) {
		s, _ := joinAccount(t, Options{})
		if p := mustQuery(t, s, fetchToken(t, s), "SELECT id, lastmodifieddate FROM customersubsidiaryrelationship", 1000, 0); p.total() != 6 {
			t.Errorf("%d memberships", p.total())
		}
	})
	t.Run("NoOneWorld", func(t *testing.T) {
		s, _ := joinAccount(t, Options{NoOneWorld: true})
		tok := fetchToken(t, s)
		for _, q := range []string{"SELECT id FROM customersubsidiaryrelationship",
			"SELECT c.id FROM customer c JOIN customersubsidiaryrelationship csr ON csr.entity = c.id"} {
			assertRejected(t, suiteQL(t, s, tok, q, 1000, 0), 400, "Record 'customersubsidiaryrelationship' was not found.")
		}
		if s.Truth(subsidiaryTable) != nil || s.Columns(subsidiaryTable) != nil {
			t.Error("Truth/Columns of a missing table")
		}
		defer func() {
			if recover() == nil {
				t.Error("AddSubsidiary in a non-OneWorld account must panic")
			}
		}()
		s.AddSubsidiary(1, 2, false)
	})
}

func TestNoAddressPermission(t *testing.T) {
	for _, denied := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoAddressPermission=%v", denied), func(t *testing.T) {
			s := startServer(t, Options{Rows: map[string]int{"customer": 200, "contact": 100}, Seed: 3, NoAddressPermission: denied, CustomFields: StandardCustomFields()})
			tok := fetchToken(t, s)
			for _, tb := range []string{"customeraddressbook", "customeraddressbookentityaddress", "contactaddressbook", "contactaddressbookentityaddress", "entityaddress"} {
				p := mustQuery(t, s, tok, "SELECT * FROM "+tb, 1000, 0)
				if (p.total() == 0) != denied || len(s.Truth(tb)) == 0 {
					t.Errorf("%s: %d rows served, %d in Truth", tb, p.total(), len(s.Truth(tb)))
				}
			}
			p := mustQuery(t, s, tok, "SELECT ab.internalid, ea.city FROM "+abJoinEA, 1000, 0)
			if (p.total() == 0) != denied {
				t.Errorf("join: %d rows", p.total())
			}
			if p := mustQuery(t, s, tok, "SELECT id FROM customer WHERE defaultbillingaddress IS NOT NULL", 1000, 0); p.total() == 0 {
				t.Error("customers still name their default addresses")
			}
			if p := mustQuery(t, s, tok, "SELECT id FROM customersubsidiaryrelationship", 1000, 0); p.total() < 200 {
				t.Error("memberships are not address tables")
			}
			if r := suiteQL(t, s, tok, "SELECT nosuch FROM customeraddressbook", 1000, 0); r.status != http.StatusBadRequest {
				t.Error("names are still checked")
			}
		})
	}
}

func TestAddressCustomFields(t *testing.T) {
	for _, ft := range []string{"", "ADDRSUBRECORD"} {
		t.Run("AddressFieldType="+ft, func(t *testing.T) {
			s := startServer(t, Options{CustomFields: StandardCustomFields(), AddressFieldType: ft, Rows: map[string]int{"customer": 20}})
			tok := fetchToken(t, s)
			want := ft
			if want == "" {
				want = "ADDRESS"
			}
			p := mustQuery(t, s, tok, "SELECT scriptid AS a, fieldtype AS b, fieldvaluetype AS c FROM customfield WHERE scriptid IN ('custrecord_addr_verified', 'custrecord_delivery_notes', 'custrecord_is_default') ORDER BY scriptid", 1000, 0)
			if got := cells(p.Items, []string{"a", "b", "c"}); got != "custrecord_addr_verified|"+want+"|Check Box;custrecord_delivery_notes|"+want+"|Free-Form Text;custrecord_is_default|RECORD|Check Box" {
				t.Errorf("customfield: %q", got)
			}
			for _, tb := range addressFieldTables {
				names := columnList(s, tb)
				if !strings.HasSuffix(names, "lastmodifieddate, custrecord_addr_verified, custrecord_delivery_notes") {
					t.Errorf("%s columns: %s", tb, names)
				}
			}
			for _, tb := range []string{"customer", "customeraddressbook", "task"} {
				if strings.Contains(columnList(s, tb), "custrecord") {
					t.Errorf("%s has custrecord columns", tb)
				}
			}
		})
	}
	t.Run("added, retyped and removed", func(t *testing.T) {
		s, _ := joinAccount(t, Options{})
		tok := fetchToken(t, s)
		s.AddCustomField(CustomField{ScriptID: "custrecord_floor", ValueType: "Integer Number", AddressField: true})
		s.EditAddress("customer", 1, Row{"custrecord_floor": int64(3)})
		if got := cells(mustQuery(t, s, tok, "SELECT ea.custrecord_floor AS a, e.custrecord_floor AS b FROM "+abJoinEA+" JOIN entityaddress e ON e.nkey = ea.nkey WHERE ab.internalid = 1", 1000, 0).Items, []string{"a", "b"}); got != "3|3" {
			t.Errorf("new address field: %q", got)
		}
		s.SetCustomFieldType("custrecord_floor", "Free-Form Text")
		if got := s.AddressBook("customer")[0]["custrecord_floor"]; got != "3" {
			t.Errorf("retyped value %#v", got)
		}
		checkChildInvariants(t, s)
		s.RemoveCustomField("custrecord_floor")
		r := suiteQL(t, s, tok, "SELECT custrecord_floor FROM entityaddress", 1000, 0)
		assertRejected(t, r, 400, "Unknown identifier 'custrecord_floor'. Available identifiers are: {"+columnList(s, "entityaddress")+"}")
		defer func() {
			if recover() == nil {
				t.Error("an address field must be a custrecord field")
			}
		}()
		s.AddCustomField(CustomField{ScriptID: "custentity_addr", ValueType: "Check Box", AddressField: true})
	})
}

// TestAddressBookTruth: AddressBook is the join a connector should output.
func TestAddressBookTruth(t *testing.T) {
	s, _ := joinAccount(t, Options{CustomFields: StandardCustomFields()})
	book := s.AddressBook("customer")
	if len(book) != 4 || book[0]["internalid"] != int64(1) || book[3]["internalid"] != int64(4) {
		t.Fatalf("AddressBook = %v", book)
	}
	want := s.Truth("customeraddressbookentityaddress")[0]
	for k, v := range s.Truth("customeraddressbook")[0] {
		want[k] = v
	}
	if !reflect.DeepEqual(book[0], want) {
		t.Errorf("AddressBook[0]\n got %v\nwant %v", book[0], want)
	}
	if book[0]["lastmodifieddate"] != time.Date(2025, 1, 20, 18, 31, 0, 0, time.UTC) || book[0]["city"] != "Berlin" || book[0]["defaultbilling"] != true {
		t.Errorf("AddressBook[0] = %v", book[0])
	}
	if c := s.AddressBook("contact"); len(c) != 1 || c[0]["city"] != "Москва" || c[0]["entity"] != int64(10) {
		t.Errorf("contact book %v", c)
	}
}

// TestChildrenOfFixtures: records from fixtures get lines for the default
// addresses they name, and customers their primary membership.
func TestChildrenOfFixtures(t *testing.T) {
	s := startServer(t, Options{FixturesDir: "../../testdata/fixtures", Rows: map[string]int{"customer": 30}, Seed: 1})
	checkChildInvariants(t, s)
	lines := map[int64][]string{}
	for _, l := range s.AddressBook("customer") {
		if e := l["entity"].(int64); e >= FixtureIDMin {
			lines[e] = append(lines[e], fmt.Sprintf("%v:%v/%v", l["nkey"], l["defaultbilling"], l["defaultshipping"]))
		}
	}
	want := map[int64][]string{9000001: {"0:true/false"}, 9000003: {"90000031:true/false", "90000032:false/true"}, 9000006: {"1:true/true"}}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("fixture lines %v, want %v", lines, want)
	}
	id := s.AddAddressLine("customer", 9000004, Row{"city": "x"})
	for _, l := range s.AddressBook("customer") {
		if l["entity"] == int64(9000004) && (l["internalid"] != id || l["nkey"].(int64) <= 90000032) {
			t.Errorf("a new line after fixtures: %v", l)
		}
	}
}
