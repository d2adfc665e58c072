# shellcheck shell=bash
# The Kubernetes manifests (deploy/kubernetes/) against the API schemas of
# the oldest Kubernetes they target (1.33: the preStop `sleep` action needs
# >= 1.30), strictly (an unknown field fails), with kubernetes-validate;
# and kustomization.yaml's resources are exactly the manifests in the folder
# (no file left out, none missing). Sourced by scripts/check-deploy.
pip_need kubernetes-validate==1.37.0 pyyaml==6.0.4

k8s_version=1.33.0
log "kubernetes-validate --strict -k $k8s_version deploy/kubernetes/"
mapfile -t k8s_manifests < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)
kubernetes-validate --strict --quiet -k "$k8s_version" "${k8s_manifests[@]}"
echo "${#k8s_manifests[@]} manifests valid"

log "deploy/kubernetes/kustomization.yaml lists every manifest"
python3 - deploy/kubernetes "${k8s_manifests[@]}" <<'PY'
import os, sys, yaml
folder, manifests = sys.argv[1], sys.argv[2:]
with open(os.path.join(folder, "kustomization.yaml"), encoding="utf-8") as f:
    k = yaml.safe_load(f)
listed = {os.path.normpath(os.path.join(folder, r)) for r in k.get("resources") or []}
present = {os.path.normpath(m) for m in manifests}
problems = [f"listed but missing: {p}" for p in sorted(listed - present)]
problems += [f"not listed in kustomization.yaml: {p}" for p in sorted(present - listed)]
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "kustomization.yaml complete"
