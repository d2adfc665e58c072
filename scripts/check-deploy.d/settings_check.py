#!/usr/bin/env python3
"""Every STOREKEEP_* variable the deploy kit sets is one storekeep reads.

Used by 10-containers.sh. The settings come from the code itself
(crates/storekeep/src/config/keys.rs: KEYS, each key with whether it is a
secret); a variable is known when it is a key's environment name
(`STOREKEEP_` + the dotted path in upper case, dots as underscores), a
secret key's `_FILE` variant, or STOREKEEP_CONFIG. A typo or an invented
setting in a compose file, a manifest or the systemd files would otherwise
only show as a start-up warning on a real node. Prints each unknown one
with its file and line, exits 1 if any.

    python3 scripts/check-deploy.d/settings_check.py FILE...
"""
import re
import sys

KEYS_RS = "crates/storekeep/src/config/keys.rs"


def known_variables():
    with open(KEYS_RS, encoding="utf-8") as f:
        source = f.read()
    block = source[source.index("pub const KEYS"):]
    block = block[: block.index("\n];")]
    keys = re.findall(r'\(\s*"([a-z0-9_.]+)",\s*(true|false),', block)
    if len(keys) < 10:
        sys.exit(f"{KEYS_RS}: could not read the settings (found {len(keys)})")
    known = {"STOREKEEP_CONFIG"}
    for key, secret in keys:
        env = "STOREKEEP_" + key.upper().replace(".", "_")
        known.add(env)
        if secret == "true":
            known.add(env + "_FILE")
    return known


def main(paths):
    known = known_variables()
    problems = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                for name in re.findall(r"\bSTOREKEEP_[A-Z0-9_]+", line):
                    if name not in known:
                        problems.append(f"{path}:{number}: {name} is not a storekeep setting")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"every STOREKEEP_* variable is a setting ({len(paths)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
