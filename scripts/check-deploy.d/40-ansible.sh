# shellcheck shell=bash
# The Ansible playbook (deploy/ansible/; sourced by scripts/check-deploy,
# which provides apt_need, pip_need and log; any failure stops the run):
#   ansible-playbook --syntax-check  site.yml with inventory.example/
#   ansible-lint                     the production profile (.ansible-lint
#                                    there; yamllint's rules come from the
#                                    root .yamllint.yaml, which also lints
#                                    deploy/ansible in 10-containers)
#   secret settings                  roles/storekeep/vars/main.yml names each
#                                    secret setting of keys.rs with its _FILE
#   the rendered files               tests/render.yml renders the roles'
#                                    templates (both modes, every optional
#                                    part) on this machine; then, as in
#                                    10-containers: systemd-analyze verify on
#                                    the units with their drop-in (ExecStart
#                                    pointed at /bin/true), nginx -t on the
#                                    site before and after the certificate,
#                                    settings_check.py on everything setting
#                                    STOREKEEP_*, and the compose override
#                                    parsed as YAML
# Only ansible.builtin is used: collections come from Galaxy, which is out
# of reach here (and in CI).
pip_need ansible-core==2.19.14 ansible-lint==26.10.1 pyyaml==6.0.4
apt_need systemd systemd-analyze
apt_need nginx nginx
apt_need openssl openssl

an_tmp=$(mktemp -d)
trap 'rm -rf "$an_tmp"' EXIT

log "ansible-playbook --syntax-check deploy/ansible/site.yml"
(cd deploy/ansible && ansible-playbook --syntax-check -i inventory.example/hosts.yml site.yml)

log "ansible-lint deploy/ansible/ (production profile)"
(cd deploy/ansible && ansible-lint --nocolor --offline)

log "deploy/ansible: the secret settings"
python3 - deploy/ansible/roles/storekeep/vars/main.yml <<'PY'
import re, sys, yaml
with open("crates/storekeep/src/config/keys.rs", encoding="utf-8") as f:
    source = f.read()
block = source[source.index("pub const KEYS"):]
block = block[: block.index("\n];")]
secrets = {k.replace(".", "_"): "STOREKEEP_" + k.upper().replace(".", "_") + "_FILE"
           for k, s in re.findall(r'\(\s*"([a-z0-9_.]+)",\s*(true|false),', block) if s == "true"}
with open(sys.argv[1], encoding="utf-8") as f:
    listed = yaml.safe_load(f)["storekeep_secret_settings"]
if listed != secrets:
    for k in sorted(set(secrets) | set(listed)):
        if listed.get(k) != secrets.get(k):
            print(f"{sys.argv[1]}: storekeep_secret_settings[{k}] is {listed.get(k)}, keys.rs says {secrets.get(k)}", file=sys.stderr)
    sys.exit(1)
print(f"{len(listed)} secret settings, as in keys.rs")
PY

log "deploy/ansible: the rendered files"
(cd deploy/ansible && ansible-playbook -i localhost, tests/render.yml) >"$an_tmp/render.out" \
  || { cat "$an_tmp/render.out"; false; }
python3 - "$an_tmp/render.out" "$an_tmp/r" <<'PY'
import json, os, sys
out, root = sys.argv[1], sys.argv[2]
with open(out, encoding="utf-8") as f:
    text = f.read()
# The debug result whose msg holds the files (the default callback prints
# each result as JSON after this mark).
mark, files = "ok: [localhost] => ", None
at = text.find(mark)
while at >= 0 and files is None:
    result, _ = json.JSONDecoder().raw_decode(text, at + len(mark))
    if isinstance(result.get("msg"), dict) and "storekeep.env" in result["msg"]:
        files = result["msg"]
    at = text.find(mark, at + 1)
if files is None:
    sys.exit("tests/render.yml printed no rendered files")
for name, content in files.items():
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
PY
an_r="$an_tmp/r"

# Units: each mode's backup service and timer beside the server's unit and
# its drop-in, binaries pointed at /bin/true (verify wants them to exist).
for mode in binary compose; do
  mkdir -p "$an_tmp/units-$mode/storekeep.service.d"
  cp "$an_r/systemd/storekeep.service.d/credentials.conf" "$an_tmp/units-$mode/storekeep.service.d/"
  cp "$an_r/$mode/storekeep-backup.service" "$an_r/storekeep-backup.timer" "$an_r/systemd/storekeep.service" \
    "$an_tmp/units-$mode/"
  sed -E -i 's#^(ExecStart(Pre|Post)?=)[^ ]+#\1/bin/true#' "$an_tmp/units-$mode"/*.service
  # compose's backup service requires Docker's unit: a stand-in.
  printf '[Service]\nExecStart=/bin/true\n' >"$an_tmp/units-$mode/docker.service"
  an_out=$(cd "$an_tmp/units-$mode" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1) \
    || { echo "$an_out"; false; }
  if [[ -n "$an_out" ]]; then
    echo "$an_out"
    echo "systemd-analyze verify ($mode): warnings (above) fail the check" >&2
    false
  fi
  echo "$mode: units clean"
done

# The site as installed before and after the certificate, with local
# snippets and a throwaway certificate in place of both kinds of paths.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=shops.storekeep.test \
  -keyout "$an_tmp/privkey.pem" -out "$an_tmp/fullchain.pem" 2>/dev/null
mkdir -p "$an_tmp/snippets"
cp deploy/nginx/snippets/*.conf "$an_tmp/snippets/"
for site in "$an_r"/nginx/*.conf; do
  name=$(basename "$site" .conf)
  sed -e "s#/etc/nginx/snippets/#$an_tmp/snippets/#g" \
      -e "s#/etc/letsencrypt/live/[^/]*/\(fullchain\|chain\)\.pem#$an_tmp/fullchain.pem#g" \
      -e "s#/etc/letsencrypt/live/[^/]*/privkey\.pem#$an_tmp/privkey.pem#g" \
      -e "s#/etc/ssl/certs/ssl-cert-snakeoil\.pem#$an_tmp/fullchain.pem#g" \
      -e "s#/etc/ssl/private/ssl-cert-snakeoil\.key#$an_tmp/privkey.pem#g" \
      "$site" >"$an_tmp/$name.site"
  cat >"$an_tmp/$name.nginx.conf" <<CONF
pid $an_tmp/$name.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path $an_tmp/body;
    proxy_temp_path $an_tmp/proxy;
    include $an_tmp/$name.site;
}
CONF
  # As in 10-containers: the status decides; the stapling warning (no OCSP
  # responder for a self-signed certificate) is hidden.
  nginx -t -q -e stderr -p "$an_tmp" -c "$an_tmp/$name.nginx.conf" 2>&1 | { grep -v 'ssl_stapling' || true; }
  nginx -t -q -e stderr -p "$an_tmp" -c "$an_tmp/$name.nginx.conf" 2>/dev/null
  echo "nginx/$name.conf: ok"
done

mapfile -t an_settings_files < <(grep -rlE 'STOREKEEP_' "$an_r" | sort)
python3 scripts/check-deploy.d/settings_check.py "${an_settings_files[@]}"

python3 - "$an_r/compose.override.yaml" <<'PY'
import sys, yaml
class Loader(yaml.SafeLoader):
    pass
# Compose's !reset tag (drop what compose.yaml says).
Loader.add_constructor("!reset", lambda loader, node: None)
with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.load(f, Loader=Loader)
service = doc["services"]["storekeep"]
assert service["image"] and "build" in service and service["build"] is None, "the override must replace the build by an image"
assert all(isinstance(v, str) for v in service["environment"].values()), "every environment value must be a string"
print("compose.override.yaml: parsed")
PY

rm -rf "$an_tmp"
trap - EXIT
