#!/bin/sh
# certbot deploy hook (renewal-hooks/deploy/): nginx loads a renewed
# certificate on reload (installed by deploy/ansible's nginx role).
set -eu
nginx -t -q
systemctl reload nginx
