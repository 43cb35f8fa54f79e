#!/usr/bin/env bash
# Regenerates go.mod's require/replace lines for a chosen Kubernetes version.
#
# usage (inside test/harness/kube-testenv):   ./gen-replaces.sh 1.37.2
#
# Why: k8s.io/kubernetes requires every staging module (k8s.io/api, k8s.io/apiserver, ...)
# at the non-existent version v0.0.0 and maps them with `replace ... => ./staging/src/...`.
# replace directives only apply in the main module, so this wrapper module must carry its own
# replace line for every staging module, pointing at the published v0.X.Y that corresponds to
# Kubernetes v1.X.Y. The list changes between minors, so it is generated from the chosen
# version's go.mod rather than hand-written. Embedded etcd is pinned to exactly the
# go.etcd.io/etcd/server/v3 version k8s.io/kubernetes itself uses.
set -euo pipefail
K8S="${1:?kubernetes version, e.g. 1.37.2}"
K8S="${K8S#v}"
STAGING_V="v0.${K8S#1.}"
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
[ -f "$gomod" ] || { echo "could not download go.mod of k8s.io/kubernetes@v${K8S}" >&2; exit 1; }

# Drop every existing k8s.io/* replace, then add one per staging module of the chosen version.
for old in $(go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(k8s.io\/[^"]*\)".*/\1/p' | sort -u); do
  go mod edit -dropreplace="$old" 2>/dev/null || true
done
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod"); do
  go mod edit -replace="${m}=${m}@${STAGING_V}"
done
go mod edit -require="k8s.io/kubernetes@v${K8S}"
go mod edit -require="k8s.io/component-base@${STAGING_V}"
go mod edit -require="k8s.io/client-go@${STAGING_V}"

ETCD="$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[^ ]*\).*#\1#p' "$gomod")"
[ -n "$ETCD" ] || { echo "could not find go.etcd.io/etcd/server/v3 in k8s.io/kubernetes@v${K8S} go.mod" >&2; exit 1; }
go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD}"

# Same Go language version and godebug defaults as k8s.io/kubernetes.
GOV="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
[ -n "$GOV" ] && go mod edit -go="$GOV"
GODEBUG_LINE="$(sed -n 's/^godebug \(.*\)$/\1/p' "$gomod")"
if [ -n "$GODEBUG_LINE" ]; then go mod edit -godebug="$GODEBUG_LINE"; fi

go mod tidy
echo "go.mod now targets k8s.io/kubernetes v${K8S} (staging ${STAGING_V}), etcd ${ETCD}" >&2
