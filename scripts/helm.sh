#!/usr/bin/env bash
# helm.sh: build Helm, pinned in tools/helm/go.mod, into .bin/helm from the Go
# module proxy only (no binary download). The first build takes several
# minutes on 2 cores; later calls return at once; it rebuilds when
# tools/helm/go.mod or go.sum change. make test uses it to lint and render
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
mkdir -p .bin
echo "helm: building $version from tools/helm/go.mod (first time: several minutes)" >&2
(cd tools/helm && go build -trimpath -ldflags "-X helm.sh/helm/v3/internal/version.version=$version" \
  -o ../../$bin.new helm.sh/helm/v3/cmd/helm)
mv -f "$bin.new" "$bin"
