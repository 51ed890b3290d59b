package netsuitetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Fixture files are testdata/fixtures/<table>.json: a JSON array of objects
// with typed values (numbers, true/false, null, RFC 3339 datetimes with an
// offset, "YYYY-MM-DD" dates). A missing file simply means no fixture rows.

// FixtureIDMin is the smallest id a fixture row may use, so fixtures never
// collide with generated ids.
const FixtureIDMin = 9_000_000

func (s *Server) loadFixtures(dir string) error {
	// A mistyped directory must not silently serve no fixtures.
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("fixtures: %s is not a directory", dir)
	}
	for _, def := range catalog {
		if def.child {
			continue // generated with their parents (children.go), never from files
		}
		path := filepath.Join(dir, def.name+".json")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("fixtures: %w", err)
		}
		if err := s.loadFixture(s.tables[def.name], data); err != nil {
			return fmt.Errorf("fixtures %s: %w", path, err)
		}
	}
	return nil
}

func (s *Server) loadFixture(t *table, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep integers exact
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	for i, r := range rows {
		cells, err := t.rowToCells(nullCells(len(t.cols)), Row(r), s.zone)
		if err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		if len(t.keyCols) > 0 {
			k := t.keyCols[0]
			if cells[k].null {
				return fmt.Errorf("row %d: %s is required", i, t.cols[k].Name)
			}
			if cells[k].i < FixtureIDMin {
				return fmt.Errorf("row %d: %s %d is below %d and could clash with generated rows", i, t.cols[k].Name, cells[k].i, FixtureIDMin)
			}
		}
		if t.findKey(cells) >= 0 {
			return fmt.Errorf("row %d: duplicate key", i)
		}
		t.appendRow(cells)
	}
	return nil
}
