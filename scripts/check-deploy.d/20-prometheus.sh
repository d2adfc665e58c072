# Prometheus: the scrape config (with its rule files, from a temp copy whose
# rule paths point here), every rule file's syntax, a unit test file for
# each rule file (deploy/prometheus/tests/) and a test for each alert, and every runbook_url naming a
# runbook that exists (promtool ships with the Debian prometheus package).
apt_need prometheus promtool
prom_tmp=$(mktemp -d)
sed "s#/etc/prometheus/rules/#$PWD/deploy/prometheus/rules/#" \
  deploy/prometheus/prometheus.yml >"$prom_tmp/prometheus.yml"
promtool check config "$prom_tmp/prometheus.yml"
# The config must have found the rules (a wrong glob matches nothing).
grep -q "storekeep-" <(promtool check config "$prom_tmp/prometheus.yml" 2>&1) || {
  echo "prometheus.yml loads no storekeep rule file" >&2
  exit 1
}
rm -rf "$prom_tmp"
for f in deploy/prometheus/rules/*.yml; do
  promtool check rules "$f"
  t="deploy/prometheus/tests/$(basename "${f%.yml}").test.yml"
  [[ -f $t ]] || { echo "$f has no unit test file $t" >&2; exit 1; }
  while read -r alert; do
    grep -q "alertname: $alert\$" "$t" || { echo "$alert has no test in $t" >&2; exit 1; }
  done < <(sed -n 's/^ *- alert: *//p' "$f")
  # Every alert carries severity, summary, description and runbook_url.
  n=$(grep -c '^ *- alert:' "$f")
  for key in 'severity:' 'summary:' 'description:' 'runbook_url:'; do
    [[ $(grep -c "^ *$key" "$f") -eq $n ]] || { echo "$f: not every alert has $key" >&2; exit 1; }
  done
  while read -r url; do
    [[ -f $url ]] || { echo "$f: runbook $url does not exist" >&2; exit 1; }
  done < <(sed -n 's/^ *runbook_url: *//p' "$f")
done
for t in deploy/prometheus/tests/*.test.yml; do
  promtool test rules "$t"
done
