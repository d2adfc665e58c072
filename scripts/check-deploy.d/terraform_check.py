#!/usr/bin/env python3
"""The Terraform configuration parses, and its variables add up.

Used by 50-terraform.sh (no Terraform binary can be installed here, so
this stands in for `terraform validate`'s part that needs no provider):

- every *.tf file, and terraform.tfvars.example, parses as HCL2
  (python-hcl2);
- every `var.NAME` referenced is a declared variable, and every declared
  variable is referenced somewhere (an unused input is a setting that
  silently does nothing);
- every `local.NAME` referenced is defined in a locals block;
- terraform.tfvars.example sets only declared variables, and sets every
  variable that has no default (copying it gives a complete file);
- every variable has a type and a description;
- every inline checkov skip gives a reason of some length
  (`# checkov:skip=CKV_X_1:why`), so no check is waved through unexplained;
- every precondition and variable validation that is arithmetic over
  number variables (the connection budget of a rollout, min_tasks within
  max_tasks, ranges) holds for the variables' defaults and for the tfvars
  example: a plan with either would not be refused by the configuration's
  own checks. Conditions with strings, regexes, functions other than
  floor/ceil/min/max, or operators Python reads otherwise (`!`, `**`,
  shifts, bitwise) are left to `terraform plan`.

Prints each problem with its file, exits 1 if any.

    python3 scripts/check-deploy.d/terraform_check.py deploy/terraform
"""
import glob
import math
import os
import re
import sys

import hcl2
from hcl2.utils import SerializationOptions

# Comments left out (a `var.x` in a comment is no use of x); labels and
# strings without their quotes.
OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)

VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
LOCAL_REF = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)")
SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")
MIN_REASON = 30
# What a condition may hold, once its variables are numbers, to be
# evaluated here: numbers, arithmetic, comparisons, && || !, and these calls.
ARITHMETIC = re.compile(r"^(?:[\s\d.+\-*/%()<>=!&|,]|floor|ceil|min|max)*$")
# Python reads these otherwise than HCL (power, shifts, bitwise and/or, a
# `!` whose precedence `not` would change): such a condition is left out.
NOT_HCL = re.compile(r"\*\*|<<|>>|(?<![&|])[&|](?![&|])|!(?!=)")
CALLS = {"floor": math.floor, "ceil": math.ceil, "min": min, "max": max}


def strings(node):
    """Every string in a parsed HCL tree (expressions come out as strings)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def conditions(node, where=""):
    """(where, condition) of every precondition and validation block."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("precondition", "validation"):
                for block in value if isinstance(value, list) else [value]:
                    if isinstance(block, dict) and "condition" in block:
                        yield f"{where}/{key}", block["condition"]
            else:
                yield from conditions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from conditions(item, where)


def evaluate(condition, values):
    """The condition's truth with `values` for its variables, or None when
    it is not plain arithmetic over number variables."""
    text = condition.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    names = VAR_REF.findall(text)
    if not names or any(
            isinstance(values.get(n), bool) or not isinstance(values.get(n), (int, float)) for n in names):
        return None
    expr = VAR_REF.sub(lambda m: repr(values[m.group(1)]), text)
    if not ARITHMETIC.match(expr) or NOT_HCL.search(expr):
        return None
    expr = expr.replace("&&", " and ").replace("||", " or ")
    # Only the grammar above: numbers, arithmetic, comparisons, and/or,
    # and the four calls.
    return bool(eval(expr, {"__builtins__": {}}, CALLS))


def main(folder):
    problems = []
    tf_files = sorted(glob.glob(os.path.join(folder, "*.tf")))
    if not tf_files:
        sys.exit(f"{folder}: no .tf files")

    parsed = {}
    for path in tf_files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            parsed[path] = hcl2.loads(text, serialization_options=OPTIONS)
        except Exception as e:  # python-hcl2 raises lark's errors, unwrapped
            problems.append(f"{path}: does not parse: {str(e).strip().splitlines()[0]}")
            continue
        for number, line in enumerate(text.splitlines(), 1):
            m = SKIP.search(line)
            if m and len((m.group(2) or "").strip()) < MIN_REASON:
                problems.append(f"{path}:{number}: checkov skip of {m.group(1)} without a reason")

    if len(parsed) < len(tf_files):
        # The cross-file checks below would only list what the unparsed
        # file declares or uses.
        for p in problems:
            print(p, file=sys.stderr)
        return 1

    declared = {}
    locals_defined = set()
    for path, tree in parsed.items():
        for block in tree.get("variable", []):
            for name, body in block.items():
                if name in declared:
                    problems.append(f"{path}: variable {name} declared twice")
                declared[name] = (path, body)
        for block in tree.get("locals", []):
            locals_defined.update(block)

    referenced, locals_used = set(), set()
    for tree in parsed.values():
        for s in strings(tree):
            referenced.update(VAR_REF.findall(s))
            locals_used.update(LOCAL_REF.findall(s))

    for name in sorted(referenced - declared.keys()):
        problems.append(f"{folder}: var.{name} is used but not declared")
    for name in sorted(declared.keys() - referenced):
        problems.append(f"{declared[name][0]}: variable {name} is declared but never used")
    for name in sorted(locals_used - locals_defined):
        problems.append(f"{folder}: local.{name} is used but not defined")
    for name, (path, body) in sorted(declared.items()):
        for key in ("type", "description"):
            if key not in body:
                problems.append(f"{path}: variable {name} has no {key}")

    example = os.path.join(folder, "terraform.tfvars.example")
    try:
        with open(example, encoding="utf-8") as f:
            values = hcl2.loads(f.read(), serialization_options=OPTIONS)
    except FileNotFoundError:
        problems.append(f"{example}: missing")
        values = None
    except Exception as e:
        problems.append(f"{example}: does not parse: {str(e).strip().splitlines()[0]}")
        values = None
    defaults = {name: body["default"] for name, (path, body) in declared.items() if "default" in body}
    sets = [("the variables' defaults", defaults)]
    if values is not None:
        sets.append((f"{example}", {**defaults, **values}))
    evaluated = 0
    for path, tree in parsed.items():
        for where, condition in conditions(tree):
            for label, given in sets:
                try:
                    holds = evaluate(condition, given)
                except Exception as e:  # a division by zero, min() of nothing…
                    problems.append(f"{path}: {where.lstrip('/')}: {condition} cannot be evaluated "
                                    f"for {label}: {e}")
                    continue
                if holds is None:
                    continue
                evaluated += 1
                if not holds:
                    problems.append(f"{path}: {where.lstrip('/')}: {condition} is false for {label}")
    if values is not None:
        for name in sorted(values.keys() - declared.keys()):
            problems.append(f"{example}: {name} is not a declared variable")
        for name, (path, body) in sorted(declared.items()):
            if "default" not in body and name not in values:
                problems.append(f"{example}: sets no value for {name}, which has no default")

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(tf_files)} .tf files parse; {len(declared)} variables, each declared, "
          f"described, typed and used; {len(locals_defined)} locals; tfvars example complete; "
          f"{evaluated} arithmetic conditions hold for the defaults and the example")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "deploy/terraform"))
