#!/usr/bin/env python3
"""Validates lbsim's JSON documents against the schemas in this folder.

    python3 schemas/validate.py SCHEMA DOCUMENT...
    python3 schemas/validate.py --check

SCHEMA is a name (run, compare, compare-replicated, crosscheck, sweep, plan) or a path; each
DOCUMENT is a file, or - for standard input. Prints one line per invalid document (the first
error) and exits 1 if any is; exits 2 when the `jsonschema` package is missing
(pip install jsonschema). --check checks every schema against the draft's metaschema. Used
by tests/schemas.rs.
"""
import json
import pathlib
import sys

try:
    import jsonschema
    from referencing import Registry, Resource
except ImportError:
    print("validate.py: the Python package jsonschema is required (pip install jsonschema)", file=sys.stderr)
    sys.exit(2)

HERE = pathlib.Path(__file__).resolve().parent


def registry():
    """Every schema of the folder, by its $id, so that they may refer to each other."""
    resources = []
    for path in sorted(HERE.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def main(argv):
    if argv[1:] == ["--check"]:
        registry()
        return 0
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    name = argv[1]
    path = pathlib.Path(name) if name.endswith(".json") else HERE / f"{name}.schema.json"
    schema = json.loads(path.read_text())
    validator = jsonschema.Draft202012Validator(schema, registry=registry())
    bad = 0
    for doc in argv[2:]:
        text = sys.stdin.read() if doc == "-" else pathlib.Path(doc).read_text()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            print(f"{doc}: not JSON: {e}")
            bad += 1
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            print(f"{doc}: {where}: {error.message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
