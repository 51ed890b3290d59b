package pipeline

import (
	"context"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// An incremental read of a child stream asks NetSuite which parents changed in its window
// (their lines may have been added, removed or relabelled). When the parent's record
// stream runs in the same run, its pass over the same window has just read exactly those
// parents, so it hands their ids over instead and the child saves a query. Anything else
// — another window (the streams' watermarks differ), a resumed pass (rows read by an
// earlier run are missing from it), a failed parent, more ids than are worth holding —
// and the child asks NetSuite itself.

// Likewise the deletions reader, when it reads the parent stream's deletions over a
// window that covers the child's, hands over the parents deleted in the child's window
// and the child saves its query of deletedrecord.

// maxFedParents bounds the ids a parent stream holds for its children (8 bytes each).
const maxFedParents = 200_000

// parentFeed is the ids one pass of a record stream wrote, offered to its child streams.
type parentFeed struct {
	done         chan struct{} // closed when the fields below are final
	lower, upper time.Time     // the pass's window
	ids          []int64
	ats          []time.Time // when each was deleted (a deletions feed only)
	ok           bool        // a complete pass of this run: ids are every row it read
}

func newParentFeed() *parentFeed { return &parentFeed{done: make(chan struct{})} }

// close publishes what was collected; the first call wins.
func (f *parentFeed) close() {
	if f == nil {
		return
	}
	select {
	case <-f.done:
	default:
		close(f.done)
	}
}

// parents waits for the parent's pass and returns its ids if it covered exactly the
// window [lower, upper).
func (f *parentFeed) parents(ctx context.Context, lower, upper time.Time) ([]int64, bool) {
	if !f.wait(ctx) {
		return nil, false
	}
	return f.ids, f.ok && f.lower.Equal(lower) && f.upper.Equal(upper)
}

// wait waits until the feed is final; false if there is none or ctx ended.
func (f *parentFeed) wait(ctx context.Context) bool {
	if f == nil {
		return false
	}
	select {
	case <-f.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// deleted waits for the deletions pass and returns the parents deleted in [lower, upper)
// if the pass covered that window.
func (f *parentFeed) deleted(ctx context.Context, lower, upper time.Time) ([]int64, bool) {
	if !f.wait(ctx) || !f.ok || f.lower.After(lower) || !f.upper.Equal(upper) {
		return nil, false
	}
	var ids []int64
	for i, at := range f.ats {
		if !at.Before(lower) && at.Before(upper) {
			ids = append(ids, f.ids[i])
		}
	}
	return ids, true
}

// addDeleted records one deleted parent; false once there are too many to hold.
func (f *parentFeed) addDeleted(id int64, at time.Time) bool {
	if len(f.ids) >= maxFedParents {
		return false
	}
	f.ids, f.ats = append(f.ids, id), append(f.ats, at)
	return true
}

// idCollector gathers the ids of the rows one pass writes (the writer's goroutine only).
type idCollector struct {
	ids      []int64
	overflow bool
}

func (c *idCollector) add(rec arrow.Record, key string) {
	if c == nil || c.overflow {
		return
	}
	idx := rec.Schema().FieldIndices(key)
	if len(idx) != 1 {
		c.overflow = true // unreachable: every record stream's files have their key
		return
	}
	col, ok := rec.Column(idx[0]).(*array.Int64)
	if !ok || len(c.ids)+col.Len() > maxFedParents {
		c.overflow = true
		return
	}
	for i := range col.Len() {
		c.ids = append(c.ids, col.Value(i))
	}
}
