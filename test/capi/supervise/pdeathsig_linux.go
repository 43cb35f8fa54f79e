//go:build linux

package main

import (
	"os"
	"syscall"
)

// parentDeathSignal is what the kernel sends supervise when its parent dies; it is turned into the child's SIGTERM.
const parentDeathSignal = syscall.SIGUSR2

// childAttributes: the child gets SIGTERM if supervise dies without forwarding it (SIGKILL).
func childAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// setParentDeathSignal asks the kernel for parentDeathSignal when our parent dies (prctl PR_SET_PDEATHSIG); the
// parent may already have died between fork and prctl.
func setParentDeathSignal(stop func(string)) {
	ppid := os.Getppid()
	const prSetPdeathsig = 1
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(parentDeathSignal), 0)
	if os.Getppid() != ppid {
		stop("parent died")
	}
}
