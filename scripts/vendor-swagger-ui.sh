#!/usr/bin/env bash
# Vendor the Swagger UI that /docs serves: a pinned swagger-ui-dist release from npm, checked
# against its published integrity, unpacked into service/static/docs/swagger-ui.
# The page loads nothing from elsewhere; to upgrade, change VERSION and INTEGRITY (from
# `npm view swagger-ui-dist@<version> dist.integrity`), run this, set the same version in the
# `?v=` of service/static/docs/index.html, and commit the result (docs/api.md).
set -euo pipefail

VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
FILES=(swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE package.json)

root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/service/static/docs/swagger-ui"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION")"
actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
if [[ "$actual" != "$INTEGRITY" ]]; then
    echo "swagger-ui-dist $VERSION: integrity $actual, expected $INTEGRITY" >&2
    exit 1
fi
tar -xzf "$work/$tarball" -C "$work"
rm -rf "$target"
mkdir -p "$target"
for file in "${FILES[@]}"; do
    cp "$work/package/$file" "$target/$file"
done
# The source map is not shipped; a dangling reference would only make devtools ask for it.
sed -i -e '/^\/\/# sourceMappingURL=/d' -e '/^\/\*# sourceMappingURL=.*\*\/$/d' \
    "$target/swagger-ui-bundle.js" "$target/swagger-ui.css"
echo "swagger-ui-dist $VERSION vendored into service/static/docs/swagger-ui"
