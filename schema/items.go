package schema

// Items are the rows of one SuiteQL page column by column, without a map per row: the
// fast path from a decoded page to a Builder. Keys are the page's lower-case column names
// in the order first seen; row r holds the cells Cells[Ends[r-1]:Ends[r]] (Ends[-1] = 0),
// each naming its column by index into Keys. A key a row lacks is NULL there.
type Items struct {
	Keys  []string
	Cells []Cell
	Ends  []int
}

// Cell is one value of one row.
type Cell struct {
	Key   int32
	Value string
}

// Len is the number of rows.
func (it *Items) Len() int { return len(it.Ends) }

// Index returns the index of key in Keys, −1 if no row has it.
func (it *Items) Index(key string) int {
	for k, name := range it.Keys {
		if name == key {
			return k
		}
	}
	return -1
}

// Row returns row r's cells.
func (it *Items) Row(r int) []Cell {
	start := 0
	if r > 0 {
		start = it.Ends[r-1]
	}
	return it.Cells[start:it.Ends[r]]
}

// Get returns row r's value of the column with index k.
func (it *Items) Get(r, k int) (string, bool) {
	if k < 0 {
		return "", false
	}
	for _, c := range it.Row(r) {
		if int(c.Key) == k {
			return c.Value, true
		}
	}
	return "", false
}

// RawRow returns row r as a map, for the paths that are not hot.
func (it *Items) RawRow(r int) RawRow {
	cells := it.Row(r)
	row := make(RawRow, len(cells)+1)
	for _, c := range cells {
		row[it.Keys[c.Key]] = c.Value
	}
	return row
}

// ItemsOf returns rows column by column.
func ItemsOf(rows []RawRow) *Items {
	it := &Items{Ends: make([]int, 0, len(rows))}
	index := map[string]int32{}
	for _, row := range rows {
		for name, v := range row {
			k, ok := index[name]
			if !ok {
				k = int32(len(it.Keys))
				index[name] = k
				it.Keys = append(it.Keys, name)
			}
			it.Cells = append(it.Cells, Cell{Key: k, Value: v})
		}
		it.Ends = append(it.Ends, len(it.Cells))
	}
	return it
}
