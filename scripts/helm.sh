#!/usr/bin/env bash
# helm.sh: build Helm, pinned in tools/helm/go.mod, into .bin/helm from the Go
# module proxy only (no binary download). The first build takes about 7
# CPU-minutes (about 4 minutes on 2 idle cores, plus the module download);
# later calls return at once; it rebuilds when tools/helm/go.mod or go.sum
# change. make test uses it to lint and render
# deploy/helm/dunning.
#
# Helm has its own module, not tools/go.mod: its requirements (grpc,
# protobuf, golang.org/x/*, k8s.io/*) would upgrade the Temporal CLI's.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
bin=.bin/helm
if [ -x "$bin" ] && [ "$bin" -nt tools/helm/go.mod ] && [ "$bin" -nt tools/helm/go.sum ]; then
  exit 0
fi
version=$(awk '$1 == "helm.sh/helm/v3" { print $2 }' tools/helm/go.mod)
# As Helm's Makefile does: the Kubernetes version Helm assumes without a
# cluster (helm template, helm lint) is that of its client-go, v0.X -> 1.X.
k8s_minor=$(awk '$1 == "k8s.io/client-go" { split($2, v, "."); print v[2] }' tools/helm/go.mod)
[ -n "$version" ] && [ -n "$k8s_minor" ] || { echo "helm: no helm or client-go version in tools/helm/go.mod" >&2; exit 1; }
ldflags="-X helm.sh/helm/v3/internal/version.version=$version"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done
mkdir -p .bin
echo "helm: building $version from tools/helm/go.mod (first time: about 4 minutes)" >&2
(cd tools/helm && go build -trimpath -ldflags "$ldflags" -o ../../$bin.new helm.sh/helm/v3/cmd/helm)
mv -f "$bin.new" "$bin"
