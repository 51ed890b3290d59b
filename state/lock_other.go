//go:build !unix || aix || (solaris && !illumos)

package state

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
)

// Without flock the lock is the existence of the lock file, created with
// O_CREATE|O_EXCL. Unlike flock it survives a crash, so the message says how
// to clear it.
const lockHeldHint = "; if no extract run is active, a crashed run left the lock file behind: delete it and retry"

var errLockHeld = errors.New("lock held")

type fileLock struct {
	path string
}

func acquireLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, errLockHeld
	}
	if err != nil {
		return nil, err
	}
	// The holder's pid, for the operator deciding whether the lock is stale.
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, err
	}
	return &fileLock{path: path}, nil
}

func (l *fileLock) release() error {
	return os.Remove(l.path)
}
