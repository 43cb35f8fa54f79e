//go:build tools

// Package tools records the krew command as a dependency of this module, so `go mod tidy` keeps it
// and `go build sigs.k8s.io/krew/cmd/krew` resolves it from go.sum.
package tools

import _ "sigs.k8s.io/krew/cmd/krew"
