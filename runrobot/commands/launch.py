"""``runrobot launch GRAPH [arg:=value ...]``: run a node graph without ``ros2 launch``.

Starts the same executables with the same arguments as ``launch/<graph>.launch.py``.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("launch", help="run a node graph (config/graphs) where ros2 launch is not installed")
    p.add_argument("graph", help="graph name, e.g. demo, sidecar, g1_lowcmd, g1_sim")
    p.add_argument("overrides", nargs="*", metavar="ARG:=VALUE", help="launch arguments, as with ros2 launch")
    p.set_defaults(func=run)


def parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition(":=")
        if not sep:
            raise ValueError(f"launch argument {item!r} must look like name:=value")
        out[key] = value
    return out


def executable_path(name: str) -> str:
    """The console script next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else (shutil.which(name) or name)


def run(args: argparse.Namespace) -> int:
    from runrobot.graph import graph_nodes

    nodes = graph_nodes(args.graph, parse_overrides(args.overrides))
    procs: list[subprocess.Popen] = []
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        for node in nodes:
            print(f"[launch] {node.name}: {node.executable} {' '.join(node.args)}", flush=True)
            procs.append(subprocess.Popen([executable_path(node.executable), *node.args], start_new_session=True))
        while not done.wait(0.5):
            exited = [(n, p.returncode) for n, p in zip(nodes, procs, strict=True) if p.poll() is not None]
            if exited:
                print(f"[launch] {exited[0][0].name} exited with {exited[0][1]}; stopping the graph", flush=True)
                break
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in reversed(procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0
