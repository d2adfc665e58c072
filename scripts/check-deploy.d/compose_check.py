#!/usr/bin/env python3
"""Checks docker compose files offline (no Docker engine here), as far as
they can be checked without running them. Used by 10-containers.sh:

    python3 scripts/check-deploy.d/compose_check.py deploy/compose.yaml ...

For each file: it parses as YAML (anchors and `<<` merges resolved); every
service has a pinned image (a tag that is not `latest`, or a digest) or a
build whose context and Dockerfile exist; every service has a healthcheck,
or says `disable: true` and is a one-shot job (`restart: "no"`); every
`depends_on` names a service of the file, with a known condition, and
`service_healthy` only on a service with a healthcheck; every network,
volume and secret a service names is declared; every bind-mounted repo path
and every secret file exists (`./secrets/X` is checked as its example,
`./secrets.example/X`: the real ones are the operator's); a storekeep
service stops no sooner than its drain + grace. Prints every problem, exits
1 if any.
"""
import os
import re
import sys

import yaml

KNOWN_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def duration_secs(text):
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text)):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def repo_path(base, path):
    """The file in the repo a compose path stands for (secrets: the example)."""
    path = os.path.normpath(os.path.join(base, path))
    secrets = os.path.join(base, "secrets") + os.sep
    if path.startswith(secrets):
        path = os.path.join(base, "secrets.example", path[len(secrets):])
    return path


def check(path):
    problems = []

    def bad(service, message):
        problems.append(f"{path}: {service}: {message}")

    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(path))
    services = doc.get("services") or {}
    if not services:
        problems.append(f"{path}: no services")
    declared = {kind: set((doc.get(kind) or {}).keys()) for kind in ("networks", "volumes", "secrets")}

    for name, spec in (doc.get("secrets") or {}).items():
        if "file" in spec and not os.path.exists(repo_path(base, spec["file"])):
            bad(f"secret {name}", f"file {spec['file']} (in the repo: {os.path.relpath(repo_path(base, spec['file']))}) does not exist")

    for name, svc in services.items():
        image = svc.get("image")
        build = svc.get("build")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            context = os.path.normpath(os.path.join(base, context))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not os.path.isdir(context):
                bad(name, f"build context {context} does not exist")
            elif not os.path.isfile(os.path.join(context, dockerfile)):
                bad(name, f"Dockerfile {dockerfile} not found in {context}")
        if not image and not build:
            bad(name, "neither image nor build")
        if image and not build:
            if "@sha256:" not in image:
                tag = image.rsplit("/", 1)[-1].partition(":")[2]
                if not tag or tag == "latest":
                    bad(name, f"image {image} is not pinned to a tag")

        health = svc.get("healthcheck")
        if not health:
            bad(name, "no healthcheck (one-shot jobs say `disable: true`)")
        elif health.get("disable"):
            if str(svc.get("restart", "no")) != "no":
                bad(name, "healthcheck disabled on a long-running service (restart is not \"no\")")
        elif not health.get("test"):
            bad(name, "healthcheck without a test")

        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            if dep not in services:
                bad(name, f"depends_on {dep}: no such service")
                continue
            condition = (spec or {}).get("condition", "service_started")
            if condition not in KNOWN_CONDITIONS:
                bad(name, f"depends_on {dep}: unknown condition {condition}")
            dep_health = services[dep].get("healthcheck") or {}
            if condition == "service_healthy" and (not dep_health or dep_health.get("disable")):
                bad(name, f"depends_on {dep} being healthy, but {dep} has no healthcheck")
            if condition == "service_completed_successfully" and str(services[dep].get("restart", "no")) != "no":
                bad(name, f"depends_on {dep} completing, but {dep} restarts")

        networks = svc.get("networks") or []
        for net in networks if isinstance(networks, list) else networks.keys():
            if net not in declared["networks"]:
                bad(name, f"network {net} is not declared")
        for secret in svc.get("secrets") or []:
            source = secret if isinstance(secret, str) else secret.get("source")
            if source not in declared["secrets"]:
                bad(name, f"secret {source} is not declared")
        for env_file in ([svc["env_file"]] if isinstance(svc.get("env_file"), str) else svc.get("env_file") or []):
            env_path = env_file if isinstance(env_file, str) else env_file.get("path")
            if not os.path.exists(repo_path(base, env_path)):
                bad(name, f"env_file {env_path} does not exist")

        for volume in svc.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            if isinstance(volume, str) and ":" not in volume:
                continue  # an anonymous volume
            if source.startswith((".", "/")):
                if source.startswith("/"):
                    continue  # a host path outside the repo: the operator's
                if not os.path.exists(repo_path(base, source)):
                    bad(name, f"mounts {source}, which does not exist in the repository")
            elif source not in declared["volumes"]:
                bad(name, f"volume {source} is not declared")

        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env if "=" in e)
        if any(k.startswith("STOREKEEP_") for k in env) and str(svc.get("restart", "no")) != "no":
            drain = float(env.get("STOREKEEP_SHUTDOWN_DRAIN_SECS", 5))
            grace = float(env.get("STOREKEEP_SHUTDOWN_GRACE_SECS", 30))
            stop = duration_secs(svc.get("stop_grace_period", "10s"))
            if stop <= drain + grace:
                bad(name, f"stop_grace_period {stop:g}s is not above drain + grace ({drain + grace:g}s)")
    return problems


def main(paths):
    problems = []
    for path in paths:
        try:
            problems += check(path)
        except (OSError, yaml.YAMLError, AttributeError, TypeError, ValueError) as e:
            problems.append(f"{path}: cannot be read as a compose file: {e}")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the compose files", file=sys.stderr)
        return 1
    print(f"compose files ok: {', '.join(paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
