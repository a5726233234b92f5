#!/bin/sh
# Install MapBrush for the current user (no root): the program goes to ~/.local/share/MapBrush,
# the launcher, icon and map file types to ~/.local/share, and `mapbrush` to ~/.local/bin.
# Run from the unpacked folder: ./install.sh      Remove again: ./install.sh --uninstall
# Only check the system libraries the window needs: ./install.sh --check
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
DEST=$DATA/MapBrush
BIN=$HOME/.local/bin
ID=org.mapbrush.MapBrush

# The window needs the system libraries under Qt's X11 plugin. Ask the loader which of them are missing
# (ldd on the bundle's own libqxcb.so) and say what to install; the command line works without them.
# Package names: the same table as app/ui/platform_check.py (a test keeps the two equal).
packages_for() {
    case $1 in
        libxcb-cursor.so.0) echo "libxcb-cursor0 xcb-util-cursor" ;;
        libxcb-icccm.so.4) echo "libxcb-icccm4 xcb-util-wm" ;;
        libxcb-keysyms.so.1) echo "libxcb-keysyms1 xcb-util-keysyms" ;;
        libxcb-image.so.0) echo "libxcb-image0 xcb-util-image" ;;
        libxcb-render-util.so.0) echo "libxcb-render-util0 xcb-util-renderutil" ;;
        libxcb-util.so.1) echo "libxcb-util1 xcb-util" ;;
        libxcb-randr.so.0) echo "libxcb-randr0 libxcb" ;;
        libxcb-shape.so.0) echo "libxcb-shape0 libxcb" ;;
        libxcb-shm.so.0) echo "libxcb-shm0 libxcb" ;;
        libxcb-sync.so.1) echo "libxcb-sync1 libxcb" ;;
        libxcb-xfixes.so.0) echo "libxcb-xfixes0 libxcb" ;;
        libxcb-render.so.0) echo "libxcb-render0 libxcb" ;;
        libxcb-xkb.so.1) echo "libxcb-xkb1 libxcb" ;;
        libxcb.so.1) echo "libxcb1 libxcb" ;;
        libX11-xcb.so.1) echo "libx11-xcb1 libX11-xcb" ;;
        libX11.so.6) echo "libx11-6 libX11" ;;
        libxkbcommon.so.0) echo "libxkbcommon0 libxkbcommon" ;;
        libxkbcommon-x11.so.0) echo "libxkbcommon-x11-0 libxkbcommon-x11" ;;
        libGL.so.1) echo "libgl1 libglvnd-glx" ;;
        libEGL.so.1) echo "libegl1 libglvnd-egl" ;;
        libfontconfig.so.1) echo "libfontconfig1 fontconfig" ;;
        libfreetype.so.6) echo "libfreetype6 freetype" ;;
        libglib-2.0.so.0) echo "libglib2.0-0 glib2" ;;
        libgthread-2.0.so.0) echo "libglib2.0-0 glib2" ;;
        libdbus-1.so.3) echo "libdbus-1-3 dbus-libs" ;;
        libz.so.1) echo "zlib1g zlib" ;;
        libzstd.so.1) echo "libzstd1 libzstd" ;;
    esac
}

# check_libraries FOLDER: prints what is missing and returns 1, or returns 0 (also when it cannot tell).
check_libraries() {
    plugin=$(find -L "$1" -path '*/platforms/libqxcb.so' 2>/dev/null | head -n 1)
    if [ -z "$plugin" ] || ! command -v ldd >/dev/null 2>&1; then
        return 0
    fi
    widgets=$(dirname "$plugin")/../../lib/libQt6Widgets.so.6
    [ -f "$widgets" ] || widgets=
    missing=$(LD_LIBRARY_PATH="$1/_internal${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$plugin" ${widgets:+"$widgets"} 2>/dev/null |
        awk '/=> not found/ { print $1 }' | sort -u)
    [ -n "$missing" ] || return 0
    debs="" rpms=""
    for so in $missing; do
        set -- $(packages_for "$so")
        if [ $# -eq 2 ]; then
            case " $debs " in *" $1 "*) ;; *) debs="$debs $1" ;; esac
            case " $rpms " in *" $2 "*) ;; *) rpms="$rpms $2" ;; esac
        fi
    done
    echo "MapBrush's window needs these system libraries, which this computer lacks:" $missing
    if [ -n "$debs" ]; then
        echo "  Debian/Ubuntu: sudo apt install$debs"
        echo "  Fedora:        sudo dnf install$rpms"
    fi
    echo "  (until then the command line works: mapbrush render --example -o harbour.png)"
    return 1
}

refresh() {
    command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" >/dev/null 2>&1 || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" >/dev/null 2>&1 || true
}

if [ "${1:-}" = "--check" ]; then
    check_libraries "$HERE" && echo "All the system libraries the window needs are there."
    exit $?
fi

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
check_libraries "$DEST" || true
echo "Start it from the applications menu, or run: mapbrush --help (if ~/.local/bin is on your PATH)"
