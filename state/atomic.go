package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// writeFileAtomic replaces path with data so that, whatever happens, path
// holds either its old bytes or all of data:
//
//  1. write data to a new temp file in the same directory (a rename is only
//     atomic within one file system), created O_EXCL with mode 0600;
//  2. fsync it and close it, so the data is on disk before the name is;
//  3. rename it over path;
//  4. fsync the directory, so the rename itself survives a power cut.
//
// On failure before the rename the temp file is removed and path is
// untouched. hook, if not nil, is called after steps 1, 2 and 3 (see
// Store.SetFaultHook); its error aborts the write like a real failure would.
func writeFileAtomic(path string, data []byte, hook func(step string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// os.CreateTemp opens with O_CREATE|O_EXCL and mode 0600 and picks a
	// random decimal suffix: ".<base>.tmp-<digits>", which Open's stale temp
	// cleanup relies on.
	tmp, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmpName := tmp.Name()
	closed, renamed := false, false
	defer func() {
		if err == nil {
			return
		}
		if !closed {
			tmp.Close()
		}
		if !renamed {
			os.Remove(tmpName)
		}
	}()

	step := func(name string) error {
		if hook == nil {
			return nil
		}
		if err := hook(name); err != nil {
			return fmt.Errorf("fault at %s: %w", name, err)
		}
		return nil
	}

	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := step(stepTempWritten); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmpName, err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}
	if err := step(stepTempSynced); err != nil {
		return err
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmpName, path, err)
	}
	renamed = true
	if err := step(stepRenamed); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

func tempPrefix(base string) string { return "." + base + ".tmp-" }

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Windows cannot fsync a directory handle; NTFS journals the rename.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Sync()
	// Some file systems (certain FUSE and network mounts) do not support
	// fsync on a directory. Failing every Save there would make extract
	// unusable; PostgreSQL's fsync_fname makes the same exception.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}

// removeStaleTemps deletes temp files that a crashed Save of path left
// behind. Only the lock holder may call it: it is the only writer of temps.
// Names must match exactly ".<base>.tmp-<digits>" so that the temps of a
// different state file (say "<base>.tmp-x", locked by another run) are never
// touched. Best effort: a leftover temp is harmless.
func removeStaleTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := tempPrefix(base)
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || suffix == "" || strings.Trim(suffix, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}
