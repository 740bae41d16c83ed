"""The CLI's help path imports no heavy dependency: ``ganbench --help`` and every ``ganbench X --help``
build the whole parser, and commands import torch & co. only inside their ``run()`` functions
(startup latency: importing torch costs seconds; tests/bench/test_bench_startup.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys

from ganbench.cli import build_parser

HEAVY = ("torch", "torchvision", "numpy", "scipy", "pandas", "matplotlib", "PIL", "yaml", "tqdm", "ray")

# One fresh interpreter: build the parser, print each command's help, and after each say which heavy
# modules are loaded (the first command to load one is the one to fix).
PROBE = """
import contextlib, io, json, sys
from ganbench.cli import build_parser
heavy = {heavy!r}
out = {{}}
for argv in {argvs!r}:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        build_parser().parse_args(argv)
    out[" ".join(argv)] = [m for m in heavy if m in sys.modules]
print(json.dumps(out))
"""


def help_argvs() -> list[list[str]]:
    """``--help`` of the top level, of every command and of every sub-action (``recipes list``)."""
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    argvs = [["--help"]]
    for name, p in sub.choices.items():
        argvs.append([name, "--help"])
        for action in p._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                argvs += [[name, child, "--help"] for child in action.choices]
    return argvs


def test_every_help_lists_without_importing_heavy_modules():
    argvs = help_argvs()
    names = {a[0] for a in argvs[1:]}
    assert {"train", "grid", "eval", "leaderboard", "datasets", "weights", "recipes"} <= names
    assert ["recipes", "copy", "--help"] in argvs
    code = PROBE.format(heavy=HEAVY, argvs=argvs)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert list(loaded) == [" ".join(a) for a in argvs]
    assert {k: v for k, v in loaded.items() if v} == {}, "the help path imports heavy modules"


def test_the_probe_sees_an_import():
    # the check above can fail: a module that imports torch at the top shows up in the probe
    code = PROBE.format(heavy=HEAVY, argvs=[["--help"]]).replace(
        "import contextlib", "import torch, contextlib"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "torch" in json.loads(proc.stdout)["--help"]
