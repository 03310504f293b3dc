"""Rooms are ROS topics: each session has one camera room per camera, a joint-input room
and a joint-output room, all under its workspace (``/runrobot/<workspace>/<room>``)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

ROS_NAME_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_TOKEN_LEN = 64  # keeps every topic well under rmw's 255-character limit
TOPIC_ROOT = "runrobot"

IMAGE_MSG = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE_MSG = "sensor_msgs/msg/CompressedImage"
JOINT_STATE_MSG = "sensor_msgs/msg/JointState"


def is_valid_ros_token(name: str) -> bool:
    """A single ROS name token: a letter, then letters, digits or underscores, no ``__``, at most 64 chars."""
    return bool(ROS_NAME_TOKEN.match(name)) and "__" not in name and len(name) <= MAX_TOKEN_LEN


def to_ros_token(text: str) -> str:
    """Turn free text (``my-session``) into a valid ROS name token (``my_session``)."""
    token = re.sub(r"[^A-Za-z0-9_]", "_", text)
    token = re.sub(r"_+", "_", token).strip("_") or "x"
    if not token[0].isalpha():
        token = f"s{token}"
    return token


def new_workspace_id() -> str:
    return f"ws_{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Room:
    """One room: its id, the ROS topic it is carried on, and the message type."""

    room_id: str
    topic: str
    msg_type: str

    def as_dict(self) -> dict[str, str]:
        return {"room_id": self.room_id, "topic": self.topic, "msg_type": self.msg_type}


@dataclass(frozen=True)
class SessionRooms:
    """The rooms of one session."""

    workspace_id: str
    cameras: dict[str, Room]
    joint_input: Room
    joint_output: Room

    @classmethod
    def build(cls, session_id: str, workspace_id: str, camera_names: list[str]) -> SessionRooms:
        if not is_valid_ros_token(workspace_id):
            raise ValueError(f"workspace_id {workspace_id!r} is not a valid ROS name token ({ROS_NAME_TOKEN.pattern})")
        for cam in camera_names:
            if not is_valid_ros_token(cam):
                raise ValueError(f"camera name {cam!r} is not a valid ROS name token ({ROS_NAME_TOKEN.pattern})")
        sid = to_ros_token(session_id)

        def room(suffix: str, msg_type: str) -> Room:
            room_id = f"{sid}_{suffix}"
            return Room(room_id, f"/{TOPIC_ROOT}/{workspace_id}/{room_id}", msg_type)

        return cls(
            workspace_id=workspace_id,
            cameras={cam: room(f"camera_{cam}", IMAGE_MSG) for cam in camera_names},
            joint_input=room("joint_input", JOINT_STATE_MSG),
            joint_output=room("joint_output", JOINT_STATE_MSG),
        )

    def telemetry_topic(self, source: str) -> str:
        """Topic on which an attached process (e.g. the simulator) reports JSON stats for this session."""
        sid = self.joint_input.room_id.removesuffix("_joint_input")
        return f"/{TOPIC_ROOT}/{self.workspace_id}/{sid}_{source}_stats"

    def all_rooms(self) -> list[Room]:
        return [*self.cameras.values(), self.joint_input, self.joint_output]

    def as_dict(self) -> dict:
        return {
            "cameras": {name: r.as_dict() for name, r in self.cameras.items()},
            "joint_input": self.joint_input.as_dict(),
            "joint_output": self.joint_output.as_dict(),
        }
