#!/usr/bin/env python3
"""Writes kcl-emulator/model/kinesis.json, the emulator's description of the Kinesis API.

The description is reduced from botocore's published model of the Kinesis API (the newest botocore on PyPI):
only facts are kept (operation names, input/output/error shapes, member types, required members, lengths,
ranges, patterns and enum value sets); no documentation text. The emulator's server validates every request
against it (kcl-emulator/src/server/model.rs), so the checks are the model's, not hand-written per operation.

Usage: python3 scripts/gen-kinesis-model.py [path/to/botocore/data/kinesis/2013-12-02/service-2.json(.gz)]
Without a path it installs the newest botocore into a temporary directory with pip.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

KEEP = ("type", "min", "max", "pattern", "enum", "required", "timestampFormat", "union", "eventstream",
        "exception", "error")


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def find_model():
    if len(sys.argv) > 1:
        return sys.argv[1], "given"
    tmp = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "botocore"],
                   check=True)
    wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
    import zipfile
    with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
        name = [n for n in z.namelist() if n.startswith("botocore/data/kinesis/") and "service-2" in n][0]
        z.extract(name, tmp)
    return os.path.join(tmp, name), wheel.split("-")[1]


def main():
    path, version = find_model()
    model = load(path)
    shapes = {}
    for name, shape in model["shapes"].items():
        out = {k: shape[k] for k in KEEP if k in shape}
        if shape["type"] == "structure":
            out["members"] = {m: {"shape": v["shape"], **({"eventpayload": True} if v.get("eventpayload") else {})}
                              for m, v in shape.get("members", {}).items()}
        elif shape["type"] == "list":
            out["member"] = shape["member"]["shape"]
        elif shape["type"] == "map":
            out["key"] = shape["key"]["shape"]
            out["value"] = shape["value"]["shape"]
        if "error" in out:
            out["error"] = {k: v for k, v in out["error"].items() if k in ("code", "httpStatusCode", "senderFault")}
        shapes[name] = out
    operations = {}
    for name, op in model["operations"].items():
        operations[name] = {
            "input": op.get("input", {}).get("shape"),
            "output": op.get("output", {}).get("shape"),
            "errors": [e["shape"] for e in op.get("errors", [])],
        }
    out = {
        "source": f"botocore {version}, kinesis {model['metadata']['apiVersion']}",
        "targetPrefix": model["metadata"]["targetPrefix"],
        "operations": dict(sorted(operations.items())),
        "shapes": dict(sorted(shapes.items())),
    }
    dest = os.path.join(os.path.dirname(__file__), "..", "kcl-emulator", "model", "kinesis.json")
    with open(dest, "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {dest}: {len(operations)} operations, {len(shapes)} shapes ({out['source']})")


if __name__ == "__main__":
    main()
