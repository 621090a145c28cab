package sandbox

import "syscall"

// procAttr puts a child in its own process group (so Stop reaches everything it spawned) and
// has the kernel kill it if the sandbox itself dies without cleaning up.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
