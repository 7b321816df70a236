#!/usr/bin/env python3
"""Checks that Package.swift declares every module each target imports (honest manifests).

A target that imports a module it does not declare builds only while another dependency happens
to bring that module along; this check fails instead. It reads the manifest as SwiftPM resolves it
(`swift package dump-package`, or the JSON file given as the first argument) and every `import` of
each target's Swift files. Modules of the toolchain and the system are not declared, so they are
allowed (SYSTEM_MODULES below). Exit status 1 names each undeclared import; 0 when there is none.

Usage: scripts/check_manifest.py [dump-package.json]
"""
import json, os, re, subprocess, sys

SYSTEM_MODULES = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "FoundationXML", "Dispatch", "Glibc", "Musl",
    "Darwin", "Synchronization", "Testing", "XCTest", "_Concurrency", "Observation", "RegexBuilder",
}
IMPORT = re.compile(r"^\s*(?:@[\w()]+\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) > 1:
    manifest = json.load(open(sys.argv[1]))
else:
    manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True).stdout)

problems = []
for target in manifest["targets"]:
    if target["type"] == "system":
        continue
    default = "Tests" if target["type"] == "test" else "Sources"
    path = os.path.join(root, target.get("path") or os.path.join(default, target["name"]))
    declared = set()
    for dependency in target["dependencies"]:
        kind, values = next(iter(dependency.items()))
        declared.add(values[0])  # byName / target: the module; product: its name, which is its module's here
    imported = {}
    for directory, _, files in os.walk(path):
        for name in files:
            if name.endswith(".swift"):
                file = os.path.join(directory, name)
                for module in IMPORT.findall(open(file, encoding="utf-8").read()):
                    imported.setdefault(module, os.path.relpath(file, root))
    for module, file in sorted(imported.items()):
        if module not in declared and module not in SYSTEM_MODULES and module != target["name"]:
            problems.append(f"{target['name']} imports {module} ({file}) without declaring it in Package.swift")

for problem in problems:
    print(problem)
print(f"manifest check: {len(manifest['targets'])} targets, {len(problems)} undeclared imports")
sys.exit(1 if problems else 0)
