#!/bin/sh
# meson install's last step: the server example becomes SYSCONFDIR/sweepd/sweepd.conf
# only when there is none (meson's install_data would overwrite an admin's file).
# The example itself is always installed beside the docs.
set -eu
src=$1
dest="${DESTDIR:-}$2/sweepd/sweepd.conf"
if [ -e "$dest" ]; then
	echo "Keeping $dest (the example is $3)"
else
	install -D -m 0644 "$src" "$dest"
	echo "Installing $src to $dest"
fi
