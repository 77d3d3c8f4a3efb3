#!/bin/sh
# Installs, from Debian's packages, what building and testing sweepd needs and
# this machine lacks. Run as root on Debian 12.
set -eu
pkgs="gcc meson ninja-build pkg-config libev-dev libconfig-dev libzstd-dev libjson-c-dev
      libcmocka-dev python3 python3-prometheus-client findutils coreutils util-linux
      procps systemd zstd nginx-light logrotate clang libclang-rt-14-dev
      libcurl4-openssl-dev libssl-dev libxml2-dev radosgw ceph-mon ceph-osd ceph-common curl"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
