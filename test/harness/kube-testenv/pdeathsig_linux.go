//go:build linux

package main

import (
	"os"
	"syscall"
)

// parentDeathSignal is what the kernel sends us when the parent dies. Not SIGTERM: kube-apiserver
// treats a second SIGTERM as "exit now" (skipping our cleanup), so main.go turns this signal into at
// most one SIGTERM (see requestShutdown).
const parentDeathSignal = syscall.SIGUSR2

// setParentDeathSignal asks the kernel to send parentDeathSignal to this process when its parent
// dies (prctl PR_SET_PDEATHSIG). Complements the stdin-EOF watcher.
func setParentDeathSignal() {
	ppid := os.Getppid()
	const prSetPdeathsig = 1
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(parentDeathSignal), 0)
	// The parent may already have died between fork and prctl.
	if os.Getppid() != ppid {
		requestShutdown()
	}
}
