//go:build !linux

package main

import "syscall"

// parentDeathSignal is only delivered on Linux; elsewhere the stdin-EOF watcher still applies.
const parentDeathSignal = syscall.SIGUSR2

func childAttributes() *syscall.SysProcAttr { return nil }

func setParentDeathSignal(func(string)) {}
