package main

import "syscall"

// maxrssBytes: Linux reports ru_maxrss in KiB.
func maxrssBytes(ru *syscall.Rusage) int64 { return ru.Maxrss << 10 }
