//go:build tools

// Package tools records the Cluster API core manager (the main package at sigs.k8s.io/cluster-api/core) as a
// dependency of this module, so `go mod tidy` keeps it and `go build sigs.k8s.io/cluster-api/core` resolves it from go.sum.
package tools

import _ "sigs.k8s.io/cluster-api/core"
