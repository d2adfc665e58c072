# Alertmanager: the example route's config (amtool ships with the Debian
# prometheus-alertmanager package), and that its routing does what
# docs/monitoring.md says: critical pages, warning opens a ticket, and a
# replica alert from every node is one notification (alertmanager_groups.py
# runs Alertmanager itself on loopback and reads its groups).
apt_need prometheus-alertmanager amtool
amtool check-config deploy/alertmanager/alertmanager.yml
am_route() {
  # (amtool warns on stderr that the file overrides --alertmanager.url)
  amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml "$@" 2>/dev/null
}
[[ $(am_route severity=critical alertname=StorekeepAllNodesNotReady) == page ]] || {
  echo "alertmanager.yml: critical alerts do not page" >&2
  exit 1
}
[[ $(am_route severity=warning alertname=StorekeepNodeNotReady) == ticket ]] || {
  echo "alertmanager.yml: warnings do not go to the ticket receiver" >&2
  exit 1
}
[[ $(am_route severity=warning alertname=StorekeepReplicaDown) == ticket ]] || {
  echo "alertmanager.yml: the replica's warnings do not go to the ticket receiver" >&2
  exit 1
}
[[ $(am_route severity=critical alertname=StorekeepReplicaDown) == page ]] || {
  echo "alertmanager.yml: a critical replica alert would not page" >&2
  exit 1
}
python3 scripts/check-deploy.d/alertmanager_groups.py deploy/alertmanager/alertmanager.yml
