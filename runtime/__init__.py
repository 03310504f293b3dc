"""runrobot runtime: the ROS-free, HTTP-free core.

Data flow: camera frames + joint state -> ``session.inputs`` (latest sample per source)
-> ``policies`` (predict a chunk) -> ``queue`` (merge chunk, one action per tick)
-> ``robots.normalization`` (clamp, name) -> joint command.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _config_dir() -> Path:
    """``config/`` of the source tree, else the installed ROS package's share directory."""
    local = PROJECT_ROOT / "config"
    if local.is_dir():
        return local
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("runrobot")) / "config"
    except Exception:  # not installed as a ROS package either
        return local


CONFIG_DIR = _config_dir()
