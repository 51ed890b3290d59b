package sink

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// int64List is a list<int64> column of one record, bound for encoding: unless row i is
// NULL, its elements are elems[offs[i]:offs[i+1]]. Both encoders use it, so the checks
// below are made once per column and batch and the per-row work is slice indexing.
type int64List struct {
	arr   *array.List
	offs  []int32 // len n+1, already adjusted for a sliced record
	elems []int64 // the whole child array; offs index into it
}

// bindInt64List checks that arr is a list<int64> array of n rows whose present lists
// hold no NULL element, and captures its offsets and values. The nullability of the
// list itself is checked by the caller, as for every other column.
//
// NULL elements are refused even where the Arrow type declares them nullable: a
// multiple-select field holds ids, a NULL id has no meaning, and the Parquet element is
// required, so writing one would need a silent drop or a different file schema.
func bindInt64List(col column, arr arrow.Array, n int) (int64List, error) {
	a, ok := arr.(*array.List)
	if !ok {
		return int64List{}, badArray(col, arr)
	}
	vals, ok := a.ListValues().(*array.Int64)
	if !ok {
		return int64List{}, fmt.Errorf("column %q: list values of type %T do not match the schema", col.name, a.ListValues())
	}
	if n == 0 {
		return int64List{arr: a}, nil
	}
	// Offsets() is the whole offsets buffer; a sliced record starts at Data().Offset().
	all, off := a.Offsets(), a.Data().Offset()
	if len(all) < off+n+1 {
		return int64List{}, fmt.Errorf("column %q: list array has %d offsets, want at least %d", col.name, len(all), off+n+1)
	}
	offs := all[off : off+n+1 : off+n+1]
	elems := vals.Int64Values()
	if offs[0] < 0 || int(offs[n]) > len(elems) || offs[0] > offs[n] {
		return int64List{}, fmt.Errorf("column %q: list offsets [%d, %d] are outside the %d list values", col.name, offs[0], offs[n], len(elems))
	}
	if vals.NullN() > 0 {
		// Only elements of present lists count: a NULL list's range (normally empty)
		// is never read.
		for i := range n {
			if a.IsNull(i) {
				continue
			}
			for j := offs[i]; j < offs[i+1]; j++ {
				if vals.IsNull(int(j)) {
					return int64List{}, fmt.Errorf("column %q: row %d has a NULL list element at position %d (list<int64> elements must not be NULL)",
						col.name, i, j-offs[i])
				}
			}
		}
	}
	return int64List{arr: a, offs: offs, elems: elems}, nil
}
