# Prometheus alert rules: syntax and their unit tests (promtool ships with
# the Debian prometheus package, which scripts/test installs).
apt_need prometheus promtool
for t in deploy/prometheus/rules/*.test.yml; do
  promtool test rules "$t"
done
