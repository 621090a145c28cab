//go:build !linux

package kubetest

import "os/exec"

// setProcAttr does nothing where there is no parent-death signal: Stop (or TestMain's
// StopShared) ends the processes.
func setProcAttr(*exec.Cmd) {}
