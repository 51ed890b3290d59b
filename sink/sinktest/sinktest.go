// Package sinktest helps tests read what the sink wrote under its run layout.
package sinktest

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Glob returns the files under root/stream (stream may be "*" for every stream),
// at any depth of the sink's <stream>/dt=…/run=…/ layout, whose base name matches
// pattern (filepath.Match), in path order: dt, then run id, then part number.
func Glob(root, stream, pattern string) ([]string, error) {
	dir := filepath.Join(root, stream)
	if stream == "*" {
		dir = root
	}
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ok, _ := filepath.Match(pattern, d.Name()); ok {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

var runSeq atomic.Int64

// RunID returns run ids that sort in creation order (a counter instead of random
// digits), so Glob lists the files of successive runs in the order they were written.
func RunID() string {
	return fmt.Sprintf("%s-%08d", time.Now().UTC().Format("20060102T150405Z"), runSeq.Add(1))
}
