# Grafana: the dashboard is JSON Grafana can provision (a title, a uid,
# panels each with a Prometheus query), and the provisioning files are
# YAML. The metrics the dashboard queries are checked against
# /api/metrics by the Rust test deploy_kit (tests/api/deploy_kit.rs).
pip_need yamllint==1.38.0
python3 - deploy/grafana/dashboards/storekeep.json <<'PY'
import json, sys
path = sys.argv[1]
d = json.load(open(path))
assert d.get("title") and d.get("uid"), f"{path}: no title or uid"
panels = [p for p in d["panels"] if p.get("type") != "row"]
assert len(panels) >= 12, f"{path}: {len(panels)} panels"
for p in panels:
    targets = p.get("targets") or []
    assert targets and all(t.get("expr") for t in targets), \
        f"{path}: panel {p.get('title')!r} has no query"
    assert p.get("datasource", {}).get("uid") == "${datasource}", \
        f"{path}: panel {p.get('title')!r} does not use the datasource variable"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), f"{path}: duplicate panel ids"
print(f"{path}: {len(panels)} panels")
PY
yamllint -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable}}' \
  deploy/grafana/provisioning deploy/alertmanager
