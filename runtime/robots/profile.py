"""Robot profiles loaded from ``config/robots/<name>.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator

from runtime import CONFIG_DIR

ROBOTS_DIR = CONFIG_DIR / "robots"


class JointSpec(BaseModel):
    """One joint: its name, its limits in radians, and whether it is a gripper."""

    name: str
    lower: float
    upper: float
    gripper: bool = False

    @model_validator(mode="after")
    def _check_limits(self) -> JointSpec:
        if not self.upper > self.lower:
            raise ValueError(f"joint {self.name}: upper limit {self.upper} must exceed lower {self.lower}")
        return self


class RobotProfile(BaseModel):
    """Joint order and limits of one robot model."""

    name: str
    description: str = ""
    joints: list[JointSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> RobotProfile:
        names = [j.name for j in self.joints]
        if len(set(names)) != len(names):
            raise ValueError(f"robot {self.name}: duplicate joint names in {names}")
        return self

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def dof(self) -> int:
        return len(self.joints)


def available_robots(robots_dir: Path = ROBOTS_DIR) -> list[str]:
    """Names of the robot profiles shipped in ``config/robots``."""
    return sorted(p.stem for p in robots_dir.glob("*.yaml"))


def load_robot_profile(name_or_path: str | Path, robots_dir: Path = ROBOTS_DIR) -> RobotProfile:
    """Load a profile by name (``so101``) or from a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = robots_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"unknown robot profile {str(name_or_path)!r}; available: {', '.join(available_robots(robots_dir))}"
        )
    return RobotProfile.model_validate(yaml.safe_load(path.read_text()))
