package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
)

// splitAtOverlap returns the rows before the first one whose cursor falls in a repeated
// hour, and that hour.
func (s *streamRun) splitAtOverlap(rows []schema.RawRow) ([]schema.RawRow, *connector.Overlap) {
	for i, r := range rows {
		if ov, ok := connector.OverlapOf(r[s.query.Table.Cursor], s.opts.Location); ok {
			return rows[:i], &ov
		}
	}
	return rows, nil
}

// maxOverlapRereads bounds how often an overlap is read again because rows left it.
const maxOverlapRereads = 5

// readOverlap reads every row in the overlap ov with offset paging between two unambiguous
// bounds, in (instant, id) order. Rows can leave a past window (updated or deleted) but
// never enter it, so a totalResults that stays the same on every page proves no row
// shifted between pages; otherwise the overlap is read again (duplicates are allowed,
// gaps are not). It returns the window after the overlap, or nil if ctx ended.
func (s *streamRun) readOverlap(ctx context.Context, b *schema.Builder, w connector.Window, ov connector.Overlap, emit func(batch) bool, log *slog.Logger) (*connector.Window, error) {
	win := connector.Window{Lower: ov.Start, Upper: ov.End}
	if w.Upper.Before(win.Upper) {
		win.Upper = w.Upper
	}
	q, err := connector.BuildQuery(s.query, win, s.opts.Location)
	if err != nil {
		return nil, err
	}
	log.Info("reading the repeated hour of a clock change as one window", "from", ov.Start, "to", ov.End)
	for attempt := 0; ; attempt++ {
		total, prev, stable := -1, ov.Start, true
		for offset := 0; ; offset += connector.PageSize {
			if offset+connector.PageSize > 100_000 {
				return nil, fmt.Errorf("%w: %s: more than 100,000 rows were modified in the repeated hour %s–%s (UTC), which SuiteQL cannot page through", connector.ErrData, s.out.Name, ov.Start.UTC().Format(time.RFC3339), ov.End.UTC().Format(time.RFC3339))
			}
			s.res.Requests++
			page, err := s.src.SuiteQL(ctx, q, connector.PageSize, offset)
			if err == nil {
				err = s.step("page-fetched")
			}
			if err != nil {
				return nil, err
			}
			if total < 0 {
				total = page.TotalResults
			} else if page.TotalResults != total {
				stable = false
				break
			}
			last, err := s.convert(b, page.Items, nil, &prev)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: repeated-hour page at offset %d: %w", connector.ErrData, s.out.Name, offset, err)
			}
			resume := w
			if len(page.Items) > 0 {
				resume.After = &last // ambiguous: a rerun reads this overlap again from its start
			}
			if !emit(batch{rec: b.NewRecord(), resume: resume}) {
				return nil, nil
			}
			if !page.HasMore {
				break
			}
		}
		if stable {
			return &connector.Window{Lower: win.Upper, Upper: w.Upper}, nil
		}
		if attempt+1 >= maxOverlapRereads {
			return nil, fmt.Errorf("%w: %s: rows in the repeated hour %s kept changing while being read", connector.ErrTransient, s.out.Name, ov.Start.UTC().Format(time.RFC3339))
		}
		log.Warn("rows in the repeated hour changed while being read; reading it again", "from", ov.Start)
	}
}
