#!/usr/bin/env bash
# Assembles the macOS app bundle target/macos/ledtogo.app: Contents/Info.plist (LSUIElement, so ledtogo
# lives in the menu bar with no Dock icon), Contents/MacOS/ledtogo, and Contents/Resources/ledtogo.icns
# when the hicolor PNGs and Apple's iconutil are there. Untested on a Mac here (see docs/platforms.md);
# a test assembles a bundle around the Linux binary and checks the layout and the plist.
#
#   packaging/macos/bundle.sh [--binary PATH] [--out DIR]
#     --binary PATH   the ledtogo binary to bundle (default: cargo build --release, target/release/ledtogo)
#     --out DIR       where ledtogo.app goes (default: target/macos)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
# Reverse-DNS name macOS files the app's settings and permissions under.
bundle_id="org.ledtogo.ledtogo"
binary=""
out="$root/target/macos"

die() { echo "bundle.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a folder"; out="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done

# The version of the [package] table of Cargo.toml.
version="$(awk '/^\[/ { in_package = ($0 == "[package]") }
                in_package && /^version *=/ { gsub(/^version *= *"|".*$/, ""); print; exit }' "$root/Cargo.toml")"
[ -n "$version" ] || die "no version in the [package] table of $root/Cargo.toml"
# CFBundleShortVersionString is numbers only (major.minor.patch): a pre-release tag (-rc.1) is dropped.
short_version="${version%%[-+]*}"
[[ "$short_version" =~ ^[0-9]+(\.[0-9]+){0,2}$ ]] || die "version '$version' in Cargo.toml is not major.minor.patch"

if [ -z "$binary" ]; then
  (cd "$root" && cargo build --release)
  binary="${CARGO_TARGET_DIR:-$root/target}/release/ledtogo"
fi
[ -f "$binary" ] && [ -x "$binary" ] || die "$binary is not an executable file; build it or pass --binary PATH"

app="$out/ledtogo.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$binary" "$app/Contents/MacOS/ledtogo"
chmod 755 "$app/Contents/MacOS/ledtogo"

# The icon: an iconset from the hicolor PNGs (16-256 px), made into an .icns by iconutil (macOS only).
icon_key=""
icons="$root/assets/icons/hicolor"
if ! command -v iconutil >/dev/null 2>&1; then
  echo "bundle.sh: no iconutil (it comes with macOS): the bundle gets no icon" >&2
elif ! ls "$icons"/*/apps/ledtogo.png >/dev/null 2>&1; then
  echo "bundle.sh: no PNGs in $icons/<N>x<N>/apps/ledtogo.png: the bundle gets no icon" >&2
else
  iconset="$(mktemp -d)/ledtogo.iconset"
  mkdir -p "$iconset"
  # iconset name ← hicolor size in pixels
  for pair in icon_16x16:16 icon_16x16@2x:32 icon_32x32:32 icon_32x32@2x:64 icon_128x128:128 \
              icon_128x128@2x:256 icon_256x256:256; do
    png="$icons/${pair#*:}x${pair#*:}/apps/ledtogo.png"
    if [ -f "$png" ]; then cp "$png" "$iconset/${pair%%:*}.png"; fi
  done
  iconutil --convert icns --output "$app/Contents/Resources/ledtogo.icns" "$iconset"
  rm -rf "$(dirname "$iconset")"
  icon_key="	<key>CFBundleIconFile</key>
	<string>ledtogo</string>
"
fi

cat > "$app/Contents/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleIdentifier</key>
	<string>$bundle_id</string>
	<key>CFBundleName</key>
	<string>ledtogo</string>
	<key>CFBundleDisplayName</key>
	<string>ledtogo</string>
	<key>CFBundleExecutable</key>
	<string>ledtogo</string>
	<key>CFBundlePackageType</key>
	<string>APPL</string>
	<key>CFBundleInfoDictionaryVersion</key>
	<string>6.0</string>
	<key>CFBundleShortVersionString</key>
	<string>$short_version</string>
	<key>CFBundleVersion</key>
	<string>$short_version</string>
${icon_key}	<key>LSMinimumSystemVersion</key>
	<string>10.12</string>
	<key>LSUIElement</key>
	<true/>
	<key>NSHighResolutionCapable</key>
	<true/>
</dict>
</plist>
PLIST

# Apple Silicon runs only signed code: an ad-hoc signature (no identity) when codesign is there.
if command -v codesign >/dev/null 2>&1; then
  codesign --force --deep --sign - "$app"
fi
echo "$app"
