#!/bin/sh
# Builds the agent image for the docker isolation driver WITHOUT a registry (docs/ARCHITECTURE.md "Testing against real parts"): a root
# file system holding only /usr/bin/node, the shared libraries `ldd` lists for it, and the container entry bundle
# (runtime/isolation/docker/container-entry.ts -> /opt/openstarry/agent-container.js), imported as an image.
#
#   scripts/docker/build-agent-image.sh [TAG]        default TAG: localhost/openstarry-agent:<package version>
#
# Environment:
#   ENGINE=podman|docker   the CLI that imports the tarball (default: podman if present, else docker)
#   NODE_BIN=/usr/bin/node the Node binary copied into the image (must match the board's architecture)
#   BUNDLE=path            a prebuilt agent-container.js (default: bundled here with esbuild)
#   BUILD_LABEL=text       stored as the image label org.openstarry.build (the test helper caches on it)
#
# On a board with real Docker and a registry, scripts/docker/Dockerfile (FROM node:20-slim) is the usual way.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(node -p "require('$ROOT/package.json').version")
TAG=${1:-localhost/openstarry-agent:$VERSION}
NODE_BIN=${NODE_BIN:-$(command -v node)}
NODE_BIN=$(readlink -f "$NODE_BIN")
if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman; else ENGINE=docker; fi
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT INT TERM
mkdir -p "$STAGE/usr/bin" "$STAGE/opt/openstarry/agent" "$STAGE/var/lib/openstarry/home" "$STAGE/run/openstarry" \
  "$STAGE/tmp" "$STAGE/etc" "$STAGE/dev" "$STAGE/proc" "$STAGE/sys"
chmod 1777 "$STAGE/tmp"
cp "$NODE_BIN" "$STAGE/usr/bin/node"
# Every library the dynamic linker will load, at the path ldd resolved it to (the loader itself included).
for lib in $(ldd "$NODE_BIN" | grep -o '/[^ ]*'); do
  mkdir -p "$STAGE$(dirname "$lib")"
  cp -L "$lib" "$STAGE$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$STAGE/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$STAGE/etc/group"

if [ -n "${BUNDLE:-}" ]; then
  cp "$BUNDLE" "$STAGE/opt/openstarry/agent-container.js"
else
  "$ROOT/node_modules/.bin/esbuild" "$ROOT/runtime/isolation/docker/container-entry.ts" --bundle --platform=node --format=esm \
    --target=node20 --minify-whitespace --minify-syntax --log-level=warning \
    "--banner:js=import { createRequire as __osCreateRequire } from 'node:module'; const require = __osCreateRequire(import.meta.url);" \
    --outfile="$STAGE/opt/openstarry/agent-container.js"
fi

tar -C "$STAGE" -c . | "$ENGINE" import \
  --change 'USER=65534:65534' \
  --change 'ENTRYPOINT=["/usr/bin/node"]' \
  --change 'WORKDIR=/' \
  --change "LABEL=org.openstarry.build=${BUILD_LABEL:-$VERSION}" \
  - "$TAG" >/dev/null
echo "$TAG"
