#!/bin/sh
# Installs, from Debian's packages, what building and testing sweepd needs and
# this machine lacks. Run as root on Debian 12.
set -eu
pkgs="gcc meson ninja-build pkg-config libev-dev libconfig-dev libzstd-dev libjson-c-dev
      libcmocka-dev python3 python3-prometheus-client findutils coreutils util-linux
      procps systemd zstd nginx-light logrotate rsyslog clang libclang-rt-14-dev
      libcurl4-openssl-dev libssl-dev libxml2-dev radosgw ceph-mon ceph-osd ceph-common curl
      libmicrohttpd-dev libcrypt-dev openssl chromium prometheus prometheus-alertmanager
      man-db groff-base debhelper"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing" >&2
	apt-get update -qq
	# Nothing installed here may start a service (nginx on port 80, prometheus on
	# 9090): the tests start their servers from the binaries. policy-rc.d tells
	# invoke-rc.d, and so every package's postinst, not to start or restart any.
	policy=/usr/sbin/policy-rc.d
	made=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made=1
	fi
	rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || rc=$?
	[ -n "$made" ] && rm -f "$policy"
	[ "$rc" = 0 ] || exit "$rc"
fi
