package netsuitetest

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Custom columns are generated after the standard ones, each from its own
// random stream (seeded by Seed, the table and the script id), so adding,
// removing or reordering custom fields changes neither the standard columns
// nor the other custom columns. Values are shaped like the standard ones:
// NULLs often, Unicode, multi-line text, 0/negative/fractional numbers,
// multi-selects with 0 (NULL), 1 and several ids.

var (
	customInts     = []int64{0, 1, 2, 7, 42, -3, 150, 1000000, -2147483648, 2147483647}
	customDecimals = []float64{0, 0.5, -0.25, 3.14159, 1234.5, -0.001, 1e6, 12.75, 99.99}
	customMoney    = []float64{0, 0.01, -99.99, 1234.56, 250000, 19.9, -0.5}
	customPercents = []float64{0, 12.5, 50, 100, 0.5, 33.3, 150, -10}
	timesOfDay     = []string{"9:30 am", "12:00 pm", "12:05 am", "11:45 pm", "7:00 am", "1:15 pm"}
	nicknames      = []string{"Big Al", "Zoë", "王先生", "O'Brien & Sons", "\"Ace\"", "Café 🚀", "Mary-Kate, Jr."}
	richTexts      = []string{"<p>Key account</p>", "<p><b>Bold</b> &amp; <i>italic</i></p>", "<ul><li>one</li><li>two</li></ul>",
		"<p>多行<br>文本</p>", "<p style=\"color:red\">Überfällig</p>"}
	geoPoints = []string{"47.6062,-122.3321", "-33.8688,151.2093", "0,0", "48.8566,2.3522"}
)

// generateCustom fills column c of the rows [first, t.n).
func generateCustom(t *table, c *colStore, first int, seed int64, z sessionZone) {
	h := fnv.New64a()
	h.Write([]byte(t.def.name + "\x00" + c.Name))
	g := &gen{rng: rand.New(rand.NewPCG(uint64(seed), h.Sum64())), z: z, table: t.def.name, dates: map[int64]int64{}}
	var ids, lmds *colStore
	switch {
	case t.idCol >= 0:
		ids = t.cols[t.idCol]
	case len(t.keyCols) == 1 && t.cols[t.keyCols[0]].Type == TypeInteger:
		ids = t.cols[t.keyCols[0]] // an address's nkey
	}
	if i, ok := t.index["lastmodifieddate"]; ok {
		lmds = t.cols[i]
	}
	for row := first; row < t.n; row++ {
		var id, lmd int64
		if ids != nil {
			id = ids.ints[row]
		}
		if lmds != nil && lmds.valid[row] {
			lmd = lmds.ints[row]
		}
		c.set(row, g.custom(c, id, lmd))
	}
}

// custom generates one value of a custom column for the record id last
// modified at lmd.
func (g *gen) custom(c *colStore, id, lmd int64) cell {
	ids := strconv.FormatInt(id, 10)
	switch c.fk {
	case fkCheckBox:
		if g.pct(5) {
			return null // records saved before the field existed
		}
		return boolCell(g.pct(40))
	}
	if g.pct(35) {
		return null
	}
	switch c.fk {
	case fkInteger:
		return cell{i: pick(g.rng, customInts)}
	case fkListRecord, fkImage, fkDocument:
		return g.intIn(1, 12)
	case fkDecimal:
		return cell{f: pick(g.rng, customDecimals)}
	case fkCurrency:
		return cell{f: pick(g.rng, customMoney)}
	case fkPercent:
		return cell{f: pick(g.rng, customPercents)}
	case fkDate:
		return g.dateOf(lmd + g.rng.Int64N(400*86400) - 200*86400)
	case fkDateTime:
		if g.pct(30) {
			return g.dt(lmd) // shares the record's (tied, DST-placed) instants
		}
		return g.dt(lmd - g.rng.Int64N(90*86400))
	case fkTimeOfDay:
		return g.text(pick(g.rng, timesOfDay))
	case fkMultiSelect:
		n := 1
		if g.pct(60) {
			n = 2 + g.rng.IntN(4)
		}
		var sel []int64
		for len(sel) < n {
			if v := 1 + g.rng.Int64N(15); !slices.Contains(sel, v) {
				sel = append(sel, v)
			}
		}
		slices.Sort(sel)
		return cell{s: joinIDs(sel, c.msSep)}
	case fkFreeFormText:
		return g.text(pick(g.rng, nicknames) + " " + ids)
	case fkTextArea:
		return g.text(pick(g.rng, messages))
	case fkLongText:
		if g.pct(10) {
			return g.text(longText + ids)
		}
		return g.text(strings.Repeat(pick(g.rng, messages)+"\n", 1+g.rng.IntN(4)))
	case fkRichText, fkInlineHTML:
		return g.text(pick(g.rng, richTexts))
	case fkEmail:
		if g.pct(5) {
			return g.text("zoë." + ids + "@exämple.com")
		}
		return g.text("contact" + ids + "@example.com")
	case fkHyperlink:
		return g.text("https://example.com/accounts/" + ids + "?ref=a&b=ü")
	case fkPhone:
		return g.text("+44 20 7946 0" + strconv.Itoa(100+g.rng.IntN(900)))
	case fkHelp, fkPassword:
		return null
	case fkOther:
		return g.text(pick(g.rng, geoPoints))
	}
	return null
}
