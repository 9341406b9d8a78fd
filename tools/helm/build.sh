#!/usr/bin/env bash
# Builds helm from the pinned helm.sh/helm/v4 module (go.mod's `tool` line, verified against
# go.sum) into tools/helm/bin/helm (ignored; nothing built is committed). No prebuilt binary is
# downloaded. Go's module and build caches are shared with tools/dapr-runtime; the binary is
# rebuilt only when go.mod or go.sum is newer than it or it reports another version, so a warm run
# is instant. Called by `make helm`. A cold build (empty caches) downloads ~270 modules and
# compiles ~1,300 packages: minutes on two cores (docs/decisions/015 has the measurements).
set -euo pipefail
cd "$(dirname "$0")"
command -v go >/dev/null || { echo "helm: Go is not installed (needs Go >= 1.26: apt-get install golang, or your distribution's Go)"; exit 1; }
version=$(awk '$1 == "helm.sh/helm/v4" && $2 ~ /^v/ { print $2; exit }' go.mod)
[ -n "$version" ] || { echo "helm: no helm.sh/helm/v4 version in go.mod"; exit 1; }

if [ bin/helm -nt go.mod ] && [ bin/helm -nt go.sum ] &&
  [ "$(bin/helm version --template '{{.Version}}' 2>/dev/null)" = "$version" ]; then
  exit 0
fi

start=$(date +%s)
# Stamped like helm's own release build (its Makefile's LDFLAGS), so `helm version` names the pin.
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o bin/helm.tmp helm.sh/helm/v4/cmd/helm
mv bin/helm.tmp bin/helm
echo "helm: built $version in $(($(date +%s) - start)) s ($(du -sh bin/helm | cut -f1))"
