"""Publishing scenes, robots and policies: validation, content-addressed storage, manifest rows.

``publish_scene`` / ``publish_robot`` / ``publish_policy`` validate everything first, then write
files and the row together (files are removed again if the row cannot be written).
``get_manifest`` / ``list_manifests`` read what was published.
"""

from api.cloud.publishing.assets import TABLES, ensure_asset_table, get_manifest, list_manifests
from api.cloud.publishing.policies import publish_policy
from api.cloud.publishing.robots import publish_robot
from api.cloud.publishing.scenes import publish_scene

__all__ = [
    "TABLES",
    "ensure_asset_table",
    "get_manifest",
    "list_manifests",
    "publish_policy",
    "publish_robot",
    "publish_scene",
]
