#!/bin/sh
# The README's first command: install what is missing, build, lay out a demo
# tree like an AI video service, and run sweepd in the foreground on
# etc/sweepd.conf. Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
sh etc/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
mkdir -p demo/srv/heygem/outputs/2026-11 demo/srv/heygem/uploads demo/srv/heygem/logs \
	demo/tmp demo/archive demo/state
[ -e demo/srv/heygem/outputs/2026-11/job-0001.mp4 ] ||
	head -c 3000000 /dev/urandom >demo/srv/heygem/outputs/2026-11/job-0001.mp4
[ -e demo/tmp/videos_0001.zip ] || head -c 500000 /dev/urandom >demo/tmp/videos_0001.zip
[ -e demo/srv/heygem/uploads/voice.wav ] || head -c 200000 /dev/urandom >demo/srv/heygem/uploads/voice.wav
echo "$(date) service started" >>demo/srv/heygem/logs/app.log
echo "sweepd is starting; in another shell: ./build/sweepctl status" >&2
exec ./build/sweepd -c etc/sweepd.conf
