// Command supervise runs one command as its child and makes sure the child does not outlive the test that started
// it. The Cluster API manager has no such guard of its own: with leader election off it keeps retrying a vanished
// API server forever. The child gets ONE SIGTERM (controller-runtime treats a second one as "exit now") when:
//   - supervise's stdin reaches EOF: the Node parent closed the pipe, or died, even by SIGKILL;
//   - supervise's parent dies (PR_SET_PDEATHSIG, Linux);
//   - supervise gets SIGTERM or SIGINT;
//
// and if supervise itself is SIGKILLed, the child gets SIGTERM through its own PR_SET_PDEATHSIG (Linux). If the
// child has not exited 10 s after the SIGTERM it is killed. supervise exits with the child's status (128 + signal
// when a signal ended it).
//
//	supervise COMMAND [ARG...]
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

const killAfter = 10 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: supervise COMMAND [ARG...]")
		os.Exit(2)
	}
	// Our stderr is the child's: when the parent dies the pipe breaks, and Go would die of SIGPIPE at the next write.
	signal.Ignore(syscall.SIGPIPE)

	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttributes()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "supervise: %v\n", err)
		os.Exit(127)
	}

	var once sync.Once
	stop := func(why string) {
		once.Do(func() {
			fmt.Fprintf(os.Stderr, "supervise: %s; sending SIGTERM to %d\n", why, cmd.Process.Pid)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			time.AfterFunc(killAfter, func() { _ = cmd.Process.Kill() })
		})
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, parentDeathSignal)
	go func() {
		for s := range sigs {
			stop(fmt.Sprintf("got %v", s))
		}
	}()
	setParentDeathSignal(stop)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop("stdin closed")
	}()

	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exit):
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			os.Exit(128 + int(status.Signal()))
		}
		os.Exit(exit.ExitCode())
	default:
		fmt.Fprintf(os.Stderr, "supervise: %v\n", err)
		os.Exit(1)
	}
}
