package netsuitetest

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// selectPage evaluates the plan over the table and returns the row positions
// of [offset, offset+limit) in ORDER BY order, plus the number of rows that
// match the WHERE clause. Only offset+limit rows are ever kept: a bounded
// max-heap discards everything that cannot reach the page, so a keyset
// request over a large table costs one filtered scan, not a full sort.
//
// salt randomises the order of rows that the ORDER BY leaves tied. Real
// NetSuite gives no stable order there either, which is what makes offset
// paging without a unique ORDER BY repeat or skip rows.
func (p *plan) selectPage(offset, limit int, salt uint64) (rows []int32, total int) {
	t := p.table
	less := p.comparator(salt)
	k := offset + limit

	if k >= t.n {
		// The page may reach the end: keep every match and sort it.
		var all []int32
		for r := 0; r < t.n; r++ {
			if p.filter == nil || p.filter(r) == triTrue {
				all = append(all, int32(r))
			}
		}
		slices.SortFunc(all, less)
		if offset >= len(all) {
			return nil, len(all)
		}
		return all[offset:min(k, len(all))], len(all)
	}

	h := make([]int32, 0, k)
	for r := 0; r < t.n; r++ {
		if p.filter != nil && p.filter(r) != triTrue {
			continue
		}
		total++
		switch {
		case len(h) < k:
			h = append(h, int32(r))
			heapUp(h, len(h)-1, less)
		case less(int32(r), h[0]) < 0:
			h[0] = int32(r)
			heapDown(h, 0, less)
		}
	}
	slices.SortFunc(h, less)
	if offset >= len(h) {
		return nil, total
	}
	return h[offset:], total
}

// heapUp and heapDown maintain a max-heap (largest row by ORDER BY at h[0]).
func heapUp(h []int32, i int, less func(a, b int32) int) {
	for i > 0 {
		parent := (i - 1) / 2
		if less(h[i], h[parent]) <= 0 {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func heapDown(h []int32, i int, less func(a, b int32) int) {
	n := len(h)
	for {
		big := i
		if l := 2*i + 1; l < n && less(h[l], h[big]) > 0 {
			big = l
		}
		if r := 2*i + 2; r < n && less(h[r], h[big]) > 0 {
			big = r
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// comparator orders rows by the ORDER BY keys, then by a salted hash of the
// row identity when the keys do not make the order unique.
func (p *plan) comparator(salt uint64) func(a, b int32) int {
	keys := p.order
	uid := p.table.uid
	unique := p.unique
	for i := range keys {
		if keys[i].kind == sortToChar {
			keys[i].text = make([]string, p.table.n)
			keys[i].have = make([]bool, p.table.n)
		}
	}
	return func(a, b int32) int {
		for i := range keys {
			if c := keys[i].compare(int(a), int(b)); c != 0 {
				return c
			}
		}
		if !unique {
			if c := cmp.Compare(mix64(uid[a]^salt), mix64(uid[b]^salt)); c != 0 {
				return c
			}
		}
		return cmp.Compare(uid[a], uid[b])
	}
}

func (k *sortKey) compare(a, b int) int {
	va, vb := k.col.valid[a], k.col.valid[b]
	if !va || !vb {
		if va == vb {
			return 0
		}
		c := 1 // a is NULL: after b unless NULLS FIRST
		if va {
			c = -1
		}
		if k.nullsFirst {
			c = -c
		}
		return c
	}
	var c int
	switch k.kind {
	case sortInt:
		c = cmp.Compare(k.col.ints[a], k.col.ints[b])
	case sortFloat:
		c = cmp.Compare(k.col.floats[a], k.col.floats[b])
	case sortText:
		c = strings.Compare(k.col.strs[a], k.col.strs[b])
	case sortWall:
		c = cmp.Compare(floorDiv(k.col.wall[a], k.unit), floorDiv(k.col.wall[b], k.unit))
	case sortToChar:
		c = strings.Compare(k.textOf(a), k.textOf(b))
	}
	if k.desc {
		c = -c
	}
	return c
}

func (k *sortKey) textOf(r int) string {
	if !k.have[r] {
		k.text[r] = k.format.format(time.Unix(k.col.wall[r], 0).UTC())
		k.have[r] = true
	}
	return k.text[r]
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// mix64 is the splitmix64 finaliser: a cheap, well-spread hash of the row
// identity so that each request's salt yields a different tie order.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
