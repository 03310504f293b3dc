"""Policies predict a chunk of actions from an observation.

One folder per policy kind, laid out as lerobot does (``<name>/configuration_*.py``,
``<name>/modeling_*.py``). ``load_policy`` picks the kind from the checkpoint.
"""

from runtime.policies.base import ChunkPolicy, PolicyIO, PolicyLoadError
from runtime.policies.factory import load_policy

__all__ = ["ChunkPolicy", "PolicyIO", "PolicyLoadError", "load_policy"]
