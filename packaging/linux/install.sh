#!/bin/sh
# Install MapBrush for the current user (no root): the program goes to ~/.local/share/MapBrush,
# the launcher, icon and map file types to ~/.local/share, and `mapbrush` to ~/.local/bin.
# Run from the unpacked folder: ./install.sh      Remove again: ./install.sh --uninstall
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
DEST=$DATA/MapBrush
BIN=$HOME/.local/bin
ID=org.mapbrush.MapBrush

refresh() {
    command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" >/dev/null 2>&1 || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" >/dev/null 2>&1 || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$DEST"
    rm -f "$DATA/applications/$ID.desktop" "$DATA/mime/packages/$ID.xml" "$BIN/mapbrush"
    rm -f "$DATA"/icons/hicolor/*/apps/$ID.png
    refresh
    echo "MapBrush removed (your settings, styles and models are kept)."
    exit 0
fi

if [ "$HERE" != "$DEST" ]; then
    rm -rf "$DEST.new"
    mkdir -p "$DATA"
    cp -a "$HERE" "$DEST.new"
    rm -rf "$DEST"
    mv "$DEST.new" "$DEST"
fi
mkdir -p "$DATA/applications" "$DATA/mime/packages" "$BIN"
sed -e "s|^Exec=.*|Exec=\"$DEST/MapBrush\" %F|" -e "s|^TryExec=.*|TryExec=$DEST/MapBrush|" \
    "$DEST/share/applications/$ID.desktop" > "$DATA/applications/$ID.desktop"
cp "$DEST/share/mime/packages/$ID.xml" "$DATA/mime/packages/$ID.xml"
for dir in "$DEST"/share/icons/hicolor/*/apps; do
    size=$(basename "$(dirname "$dir")")
    mkdir -p "$DATA/icons/hicolor/$size/apps"
    cp "$dir/$ID.png" "$DATA/icons/hicolor/$size/apps/$ID.png"
done
ln -sf "$DEST/mapbrush" "$BIN/mapbrush"
refresh
echo "MapBrush installed in $DEST"
echo "Start it from the applications menu, or run: mapbrush --help (if ~/.local/bin is on your PATH)"
