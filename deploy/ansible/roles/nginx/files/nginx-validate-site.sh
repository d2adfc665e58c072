#!/bin/sh
# nginx-validate-site FILE: `nginx -t` with FILE as the only site, in the
# installed nginx.conf's http {} (in place of its sites-enabled/ include), so
# that a site file is tested before it replaces the live one (Ansible's
# `validate:`; installed by deploy/ansible's nginx role).
set -eu
site=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#^\([[:space:]]*\)include /etc/nginx/sites-enabled/\*;#\1include $site;#" \
  /etc/nginx/nginx.conf >"$tmp/nginx.conf"
if ! grep -qF "include $site;" "$tmp/nginx.conf"; then
  echo "/etc/nginx/nginx.conf has no 'include /etc/nginx/sites-enabled/*;' to put $site in" >&2
  exit 1
fi
nginx -t -q -c "$tmp/nginx.conf"
