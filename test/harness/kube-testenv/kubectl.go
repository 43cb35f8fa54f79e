package main

// The same binary is kubectl when invoked under that name (a symlink): the tests that run `-o script` and the
// krew install test need a kubectl that matches the test API server, without relying on the machine's.

import (
	"os"
	"path/filepath"
	"strings"

	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
)

func init() {
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") != "kubectl" {
		return
	}
	// As kubectl's own main: errors are printed by the command, only the exit code is ours.
	if err := cli.RunNoErrOutput(kubectlcmd.NewDefaultKubectlCommand()); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}
