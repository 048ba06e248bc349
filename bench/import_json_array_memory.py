"""Peak memory of reading a large JSON-array manifest: the streamed reader against json.load.

CPU and memory only, no server: each reader runs in a fresh Python process that reads a
generated array (43 MB by default, the size of the reported case) the way an import's two
passes do, and reports its peak resident memory (VmHWM) and the time taken. Prints one JSON
object; nothing is recorded.

    .venv/bin/python bench/import_json_array_memory.py [--megabytes 43]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
from labeling.data.services.import_reader import json_array_elements

def vm_hwm_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

before = vm_hwm_mib()
started = time.perf_counter()
count = 0
for _ in range(2):  # the check pass and the store pass
    with open({path!r}, "rb") as handle:
        if {mode!r} == "stream":
            for _, _, text in json_array_elements(handle):
                count += 1
        else:
            for element in json.load(handle):
                json.dumps(element, ensure_ascii=False, separators=(",", ":"))
                count += 1
print(json.dumps({{"elements": count // 2, "seconds": round(time.perf_counter() - started, 2),
                   "baseline_mib": round(before, 1), "peak_mib": round(vm_hwm_mib(), 1)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=43)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manifest.json"
        target = int(args.megabytes * 2**20)
        with path.open("w") as out:
            out.write("[")
            number = 0
            while out.tell() < target:
                if number:
                    out.write(",\n")
                out.write(json.dumps({"source": f"review {number} " + "good " * 30, "n": number}))
                number += 1
            out.write("]\n")
        size = path.stat().st_size
        results = {"file_mib": round(size / 2**20, 1)}
        for mode in ("stream", "json.load"):
            code = CHILD.format(repo=str(REPO), path=str(path), mode=mode)
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )  # fmt: skip
            results[mode] = json.loads(done.stdout)
            print(f"{mode}: {results[mode]}", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"bench took {time.perf_counter() - started:.1f} s", file=sys.stderr)
