"""Static checks of the ROS 2 launch files and node graphs (ros2 launch is not installable here)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from runrobot.commands.launch import parse_overrides
from runrobot.graph import GRAPHS_DIR, graph_nodes, render_args

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


def console_scripts() -> set[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    scripts: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = re.match(r"^\s*([\w.-]+)\s*=\s*[\w.]+:\w+\s*$", node.value)
            if match:
                scripts.add(match.group(1))
    return scripts


def launched_graph(path: Path) -> str:
    """The graph name a launch file hands to graph_launch_description()."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "graph_launch_description":
            return node.args[0].value
    raise AssertionError(f"{path.name} does not call graph_launch_description")


def test_launch_files_exist() -> None:
    assert {p.name for p in LAUNCH_FILES} >= {"demo.launch.py", "sidecar.launch.py"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_defines_generate_launch_description(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_launched_executable_is_a_console_script(path: Path) -> None:
    graph = yaml.safe_load((GRAPHS_DIR / f"{launched_graph(path)}.yaml").read_text())
    scripts = console_scripts()
    for node in graph["nodes"]:
        assert node["executable"] in scripts, f"{path.name}: {node['executable']} is not a console script in setup.py"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_parameter_file_named_exists(path: Path) -> None:
    graph_name = launched_graph(path)
    for node in graph_nodes(graph_name):
        for arg in node.args:
            if arg.endswith((".yaml", ".yml", ".xml", ".json")):
                assert (ROOT / arg).is_file() or Path(arg).is_file(), f"{graph_name}: missing file {arg}"


def test_render_args_fills_and_drops_empty_options() -> None:
    args = render_args(["--port", "{port}", "--data-dir", "{data_dir}", "x"], {"port": "9", "data_dir": ""})
    assert args == ["--port", "9", "x"]


def test_graph_overrides_are_checked() -> None:
    nodes = graph_nodes("demo", {"port": "9100"})
    assert any("http://127.0.0.1:9100" in node.args for node in nodes)
    with pytest.raises(ValueError, match="no arguments"):
        graph_nodes("demo", {"nope": "1"})
    assert parse_overrides(["port:=1", "data_dir:="]) == {"port": "1", "data_dir": ""}
    with pytest.raises(ValueError):
        parse_overrides(["port=1"])
