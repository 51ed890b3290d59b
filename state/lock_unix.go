//go:build unix && !aix && !(solaris && !illumos)

// Solaris and AIX have no flock(2) (illumos does); they use lock_other.go.

package state

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// lockHeldHint adds platform advice to the ErrLocked message. flock locks
// vanish with their process, so a lock that is held is genuinely in use.
const lockHeldHint = ""

// errLockHeld is what acquireLock returns when someone else holds the lock.
var errLockHeld = errors.New("lock held")

// fileLock is an flock(2) lock on an open lock file. flock is used rather
// than fcntl/POSIX record locks because it belongs to the open file
// description: it conflicts even between two opens in one process (two
// Stores on one path), is not dropped when some unrelated descriptor for the
// file is closed, and the kernel releases it when the process dies, so a
// crashed run never leaves a stale lock.
type fileLock struct {
	f *os.File
}

func acquireLock(path string) (*fileLock, error) {
	// The lock file is never deleted: unlinking it while another run is
	// opening it would let two runs lock two different inodes of one name.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLockHeld
		}
		return nil, fmt.Errorf("flock: %w", err)
	}
	// Record the holder for an operator wondering which run has it. Purely
	// informational, so failures are ignored.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &fileLock{f: f}, nil
}

// release drops the lock by closing the file, which releases the flock.
func (l *fileLock) release() error {
	return l.f.Close()
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
