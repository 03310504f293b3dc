"""Node graphs as data (``config/graphs/<name>.yaml``): one source for ``ros2 launch`` files
and for ``runrobot launch`` on pip-only installs, where ``ros2 launch`` is not available."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from runtime import CONFIG_DIR

GRAPHS_DIR = CONFIG_DIR / "graphs"


@dataclass(frozen=True)
class GraphNode:
    name: str
    executable: str
    args: list[str]


def graph_path(name: str) -> Path:
    path = GRAPHS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in GRAPHS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"unknown node graph {name!r}; known: {known}")
    return path


def load_graph(name: str) -> dict:
    return yaml.safe_load(graph_path(name).read_text())


def render_args(template: list[str], values: dict[str, str]) -> list[str]:
    """Fill ``{arg}`` placeholders; an option whose value renders empty is dropped with its flag."""
    out: list[str] = []
    for token in template:
        rendered = str(token).format(**values)
        if rendered == "" and out and out[-1].startswith("--"):
            out.pop()
            continue
        out.append(rendered)
    return out


def graph_nodes(name: str, overrides: dict[str, str] | None = None) -> list[GraphNode]:
    """The graph's nodes with arguments filled from defaults and ``overrides``."""
    graph = load_graph(name)
    values = {k: str(v) for k, v in (graph.get("arguments") or {}).items()}
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise ValueError(f"graph {name!r} has no arguments {sorted(unknown)}; it takes {sorted(values)}")
    values.update(overrides or {})
    return [GraphNode(n["name"], n["executable"], render_args(n.get("args", []), values)) for n in graph["nodes"]]
