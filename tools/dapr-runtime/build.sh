#!/usr/bin/env bash
# Builds real daprd and the Dapr Scheduler from the pinned github.com/dapr/dapr module into
# tools/dapr-runtime/bin (ignored; nothing built is committed). Reuses Go's module and build
# caches, so a second run is a few seconds. Called by `make dapr-runtime`.
set -euo pipefail
cd "$(dirname "$0")"
command -v go >/dev/null || { echo "dapr-runtime: Go is not installed (needs Go >= 1.26.6: apt-get install golang, or your distribution's Go)"; exit 1; }
version=$(awk '$1 == "github.com/dapr/dapr" && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == "github.com/dapr/dapr" { print $3; exit }' go.mod)
[ -n "$version" ] || { echo "dapr-runtime: no github.com/dapr/dapr version in go.mod"; exit 1; }
start=$(date +%s)

# 1. The pinned source, verified against go.sum by `go mod download`, copied once (read-only in
#    the module cache) into .build/dapr; a copy of another version is replaced.
if [ "$(cat .build/dapr.version 2>/dev/null)" != "$version" ]; then
  dir=$(go mod download -json "github.com/dapr/dapr@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "dapr-runtime: go mod download github.com/dapr/dapr@$version gave no source"; exit 1; }
  rm -rf .build/dapr && mkdir -p .build && cp -R "$dir" .build/dapr && chmod -R u+w .build/dapr
  echo "$version" > .build/dapr.version
fi

# 2. The one file replaced at build time (cmd/daprd/main.go says why).
cat > .build/overlay.json <<JSON
{"Replace": {"$PWD/.build/dapr/cmd/daprd/components/zz_notag.go": "$PWD/overlay/components_none.go"}}
JSON

# 3. Both binaries, stamped with the version like Dapr's own release build.
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${version#v} -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=release"
mkdir -p bin
go build -trimpath -overlay .build/overlay.json -ldflags "$ldflags" -o bin/daprd ./cmd/daprd
go build -trimpath -ldflags "$ldflags" -o bin/scheduler github.com/dapr/dapr/cmd/scheduler
echo "dapr-runtime: built daprd and scheduler $version in $(( $(date +%s) - start )) s ($(du -sh bin | cut -f1))"
