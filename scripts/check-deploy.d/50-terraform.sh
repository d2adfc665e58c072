# shellcheck shell=bash
# Terraform (deploy/terraform/), without Terraform: no Terraform binary can
# be installed here (not in Debian, and only PyPI, npm, crates.io and apt
# are reachable), so (sourced by scripts/check-deploy):
#   terraform_check.py  every .tf file and the tfvars example parse (PyPI
#                       python-hcl2); every var.X used is declared and every
#                       declared variable used, typed and described; every
#                       local.X defined; the tfvars example sets only declared
#                       variables and all required ones; every inline checkov
#                       skip gives its reason
#   settings_check.py   every STOREKEEP_* variable in the .tf files is a
#                       setting the code reads (10-containers checks all of
#                       deploy/ too; this keeps `scripts/check-deploy terraform`
#                       complete on its own)
#   checkov             the AWS security policies, offline (--skip-download,
#                       no external checks); a failed check must be fixed or
#                       skipped inline in the .tf file with its reason
#                       (`# checkov:skip=CKV_AWS_N:why`), never in a list here
# Not checked: what needs the provider or an account (`terraform validate`'s
# schema checks, `terraform plan`): run those where Terraform is installed.
#
# checkov gets a virtualenv of its own: it depends on bc-python-hcl2, a fork
# that installs the same `hcl2` module as python-hcl2 (whichever is installed
# last breaks the other: checkov fails with "cannot import name
# 'START_LINE' from 'hcl2'"), and on pinned versions of many libraries the
# other tools share.
pip_need python-hcl2==8.1.4

tf_checkov_version=3.3.30
tf_checkov_venv="$HOME/.cache/storekeep-deploy-tools-checkov"
# (the installed version read from its metadata: `checkov --version` would
# import all of checkov, seconds)
if [[ "$("$tf_checkov_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null)" \
  != "$tf_checkov_version" ]]; then
  [[ -x "$tf_checkov_venv/bin/pip" ]] || python3 -m venv "$tf_checkov_venv"
  log "installing checkov==$tf_checkov_version (virtualenv $tf_checkov_venv)"
  "$tf_checkov_venv/bin/pip" install --quiet "checkov==$tf_checkov_version"
fi

log "deploy/terraform: HCL, variables, skips"
# The virtualenv's interpreter by its path: a plain `python3` can still be
# the system's here, which bash looked up (and remembered) when pip_need
# made the virtualenv on a fresh machine.
# shellcheck disable=SC2154  # deploy_venv comes from scripts/check-deploy
"$deploy_venv/bin/python" scripts/check-deploy.d/terraform_check.py deploy/terraform

log "STOREKEEP_* variables in deploy/terraform/"
mapfile -t tf_settings_files < <(grep -lE 'STOREKEEP_' deploy/terraform/*.tf deploy/terraform/*.example deploy/terraform/README.md | sort)
python3 scripts/check-deploy.d/settings_check.py "${tf_settings_files[@]}"

log "checkov deploy/terraform"
# Offline: no Prisma Cloud download, no module download (there are no
# modules), no look-up of a newer checkov on PyPI; a file checkov cannot
# parse fails the run instead of being passed over.
CKV_SKIP_PACKAGE_UPDATE_CHECK=true CKV_PARSE_ERROR_FAIL=true \
  "$tf_checkov_venv/bin/checkov" -d deploy/terraform --framework terraform \
  --quiet --compact --skip-download --download-external-modules false
