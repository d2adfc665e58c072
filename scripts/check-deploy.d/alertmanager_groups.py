#!/usr/bin/env python3
"""The example Alertmanager config groups alerts as docs/monitoring.md says.

Used by 21-alertmanager.sh. `amtool config routes test` tells which
receiver an alert reaches, not which alerts share a notification, so this
runs the real Alertmanager (Debian's) on a free loopback port with
deploy/alertmanager/alertmanager.yml, posts alerts from two nodes through
its API, and reads its groups (one group is one notification):

- the replica's alerts from two nodes (it is one replica) are one group
  per alert name, holding both nodes;
- a node's own alert (NodeNotReady) from two nodes is two groups, one per
  node, as before;
- every group goes to the `ticket` receiver (they are warnings).

Nothing is sent: the groups are read before `group_wait` ends, and the
example's receivers point at example.com anyway.

    python3 scripts/check-deploy.d/alertmanager_groups.py deploy/alertmanager/alertmanager.yml
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def alert(name, instance, severity):
    return {"labels": {"alertname": name, "job": "storekeep", "instance": instance,
                       "severity": severity},
            "annotations": {"summary": f"{name} on {instance}"}}


def start(config, work):
    """Alertmanager on a free loopback port, answering: (process, base URL).
    A port taken between the probe and the start is tried again."""
    for _ in range(3):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(os.path.join(work, "alertmanager.log"), "wb")
        am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={config}",
                               f"--storage.path={work}", f"--web.listen-address=127.0.0.1:{port}",
                               "--cluster.listen-address="], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while am.poll() is None and time.monotonic() < deadline:
            try:
                call(base, "GET", "/api/v2/status")
                return am, base
            except OSError:
                time.sleep(0.1)
        if am.poll() is None:
            am.kill()
            am.wait()
            sys.exit("alertmanager did not answer within 10 s")
    sys.exit("alertmanager stopped:\n" + open(os.path.join(work, "alertmanager.log")).read())


def main(config):
    work = tempfile.mkdtemp()
    am = None
    try:
        am, base = start(config, work)
        nodes = ["10.0.1.10:8080", "10.0.2.10:8080"]
        posted = [alert(name, node, "warning")
                  for name in ("StorekeepReplicaDown", "StorekeepReplicaLagging",
                               "StorekeepReplicaReadsFailing", "StorekeepNodeNotReady")
                  for node in nodes]
        call(base, "POST", "/api/v2/alerts", posted)
        want = {
            # (alert name) -> the sets of instances sharing a notification
            "StorekeepReplicaDown": [set(nodes)],
            "StorekeepReplicaLagging": [set(nodes)],
            "StorekeepReplicaReadsFailing": [set(nodes)],
            "StorekeepNodeNotReady": [{nodes[0]}, {nodes[1]}],
        }
        got, receivers = {}, set()
        for _ in range(50):
            got, receivers = {}, set()
            for group in call(base, "GET", "/api/v2/alerts/groups"):
                receivers.add(group["receiver"]["name"])
                instances = {a["labels"]["instance"] for a in group["alerts"]}
                names = {a["labels"]["alertname"] for a in group["alerts"]}
                if len(names) != 1:
                    sys.exit(f"one group holds several alerts: {sorted(names)}")
                got.setdefault(names.pop(), []).append(instances)
            if sum(len(a) for g in got.values() for a in g) == len(posted):
                break
            time.sleep(0.1)
        problems = []
        if receivers != {"ticket"}:
            problems.append(f"warnings reached {sorted(receivers)}, expected ['ticket']")
        for name, groups in want.items():
            have = sorted(got.get(name, []), key=sorted)
            if have != sorted(groups, key=sorted):
                problems.append(f"{name}: notifications {[sorted(g) for g in have]}, "
                                f"expected {[sorted(g) for g in groups]}")
        for p in problems:
            print(f"{config}: {p}", file=sys.stderr)
        if problems:
            return 1
        print(f"{config}: a replica alert from two nodes is one notification; "
              "a node's own alert is one per node")
        return 0
    finally:
        if am is not None:
            am.terminate()
            try:
                am.wait(timeout=10)
            except subprocess.TimeoutExpired:
                am.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "deploy/alertmanager/alertmanager.yml"))
