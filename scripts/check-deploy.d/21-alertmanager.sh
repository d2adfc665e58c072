# Alertmanager: the example route's config (amtool ships with the Debian
# prometheus-alertmanager package), and that its routing does what
# docs/monitoring.md says: critical pages, warning opens a ticket, and a
# replica alert from every node is one notification (alertmanager_groups.py
# runs Alertmanager itself on loopback and reads its groups).
apt_need prometheus-alertmanager amtool
amtool check-config deploy/alertmanager/alertmanager.yml
# expect_route RECEIVER LABEL=VALUE…: where an alert with those labels goes.
expect_route() {
  local want=$1 got
  shift
  # (amtool warns on stderr that the file overrides --alertmanager.url)
  got=$(amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml "$@" 2>/dev/null)
  [[ $got == "$want" ]] || {
    echo "alertmanager.yml: an alert with $* goes to '$got', expected '$want'" >&2
    exit 1
  }
}
expect_route page severity=critical alertname=StorekeepAllNodesNotReady
expect_route ticket severity=warning alertname=StorekeepNodeNotReady
expect_route ticket severity=warning alertname=StorekeepReplicaDown
expect_route page severity=critical alertname=StorekeepReplicaDown
python3 scripts/check-deploy.d/alertmanager_groups.py deploy/alertmanager/alertmanager.yml
