package main

import "syscall"

// maxrssBytes: macOS reports ru_maxrss in bytes.
func maxrssBytes(ru *syscall.Rusage) int64 { return ru.Maxrss }
