//go:build !linux

package sandbox

import "syscall"

// procAttr puts a child in its own process group, so Stop reaches everything it spawned.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
