"""``/g1``: the Unitree G1 lowcmd node through the sidecar (state, transitions, velocity, sim release).

The router talks ROS 2 through :class:`runtime.ros.g1_bridge.G1Bridge`, attached to the sidecar's
node by this router's lifespan. Without a live lowcmd node (no ``/g1/status`` for a second) every
``/g1`` route answers 503 with a ``detail`` saying so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

REQUEST_TIMEOUT_S = 1.0
NO_NODE = (
    "no G1 lowcmd node is running: no /g1/status received in the last {age}; "
    "start one with `runrobot g1 lowcmd --policy DIR` on this ROS domain"
)
NO_SIM = "no simulated G1 is running: no /g1/sim/status received in the last {age}; start `runrobot g1 sim`"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Attach the G1 bridge to the sidecar's ROS node (set up by the app's own lifespan)."""
    bridge = None
    node = getattr(app.state, "ros_node", None)
    if node is not None:
        from runtime.ros.g1_bridge import G1Bridge

        bridge = G1Bridge(node)
    app.state.g1_bridge = bridge
    try:
        yield
    finally:
        if bridge is not None:
            bridge.close()


router = APIRouter(prefix="/g1", tags=["G1"], lifespan=lifespan)


class G1Trigger(StrEnum):
    START = "start"
    DEFAULT = "default"
    RUN = "run"
    DAMP = "damp"


Velocity = Annotated[float, Field(strict=True, allow_inf_nan=False, description="finite number")]


class VelocityCommand(BaseModel):
    """A velocity command; each component is clipped to the policy's ``max_cmd`` by the node."""

    model_config = ConfigDict(extra="forbid")
    vx: Velocity = Field(0.0, description="forward velocity, m/s")
    vy: Velocity = Field(0.0, description="lateral velocity (left +), m/s")
    wz: Velocity = Field(0.0, description="yaw rate (counter-clockwise +), rad/s")


class TransitionResponse(BaseModel):
    ok: bool
    changed: bool
    trigger: str
    state: str
    reason: str = ""


class VelocityResponse(BaseModel):
    requested: list[float]
    command: list[float] = Field(description="what the node will use: clipped to +-max_cmd")
    max_cmd: list[float]
    clipped: bool


def _bridge(request: Request) -> Any:
    bridge = getattr(request.app.state, "g1_bridge", None)
    if bridge is None:
        raise HTTPException(503, "ROS 2 is disabled in this sidecar: the G1 routes need it")
    return bridge


def _age_text(bridge: Any) -> str:
    age = bridge.status_age()
    suffix = "" if age is None else f" (last one {age:.1f} s ago)"
    return f"{bridge.max_age:.1f} s{suffix}"


def _live_status(request: Request) -> tuple[Any, dict[str, Any], float]:
    bridge = _bridge(request)
    live = bridge.status()
    if live is None:
        raise HTTPException(503, NO_NODE.format(age=_age_text(bridge)))
    return bridge, live[0], live[1]


@router.get("", summary="G1 state", description="State, last safety event, transitions, counters and timing.")
def get_g1(request: Request) -> dict[str, Any]:
    bridge, status, age = _live_status(request)
    sim = bridge.sim_status()
    return {
        "state": status.get("state"),
        "last_safety_event": status.get("last_safety_event"),
        **status,
        "status_age_s": round(age, 4),
        "sim": None if sim is None else sim[0],
    }


@router.post(
    "/cmd_vel",
    summary="Set the velocity command",
    description="Publishes (vx, vy, wz) on /cmd_vel; the node clips each to +-max_cmd. NaN/inf are rejected (422).",
    response_model=VelocityResponse,
)
def post_cmd_vel(body: VelocityCommand, request: Request) -> VelocityResponse:
    bridge, status, _ = _live_status(request)
    requested = np.array([body.vx, body.vy, body.wz])
    max_cmd = np.abs(np.asarray(status.get("max_cmd") or [np.inf] * 3, dtype=np.float64))
    command = np.clip(requested, -max_cmd, max_cmd)
    if not bridge.set_velocity(body.vx, body.vy, body.wz):
        raise HTTPException(503, "the G1 lowcmd node does not subscribe to /cmd_vel")
    return VelocityResponse(
        requested=requested.tolist(),
        command=command.tolist(),
        max_cmd=max_cmd.tolist(),
        clipped=bool(np.any(command != requested)),
    )


@router.get("/sim", summary="Simulated G1 status", description="The sim's figures (CRC rejections, frozen, ...).")
def get_sim(request: Request) -> dict[str, Any]:
    bridge = _bridge(request)
    sim = bridge.sim_status()
    if sim is None:
        raise HTTPException(503, NO_SIM.format(age=f"{bridge.max_age:.1f} s"))
    return {**sim[0], "status_age_s": round(sim[1], 4)}


@router.post("/sim/release", summary="Release the frozen sim", description="Publishes /g1/sim/release.")
def post_sim_release(request: Request) -> dict[str, Any]:
    bridge = _bridge(request)
    if bridge.sim_status() is None:
        raise HTTPException(503, NO_SIM.format(age=f"{bridge.max_age:.1f} s"))
    sim = bridge.release_sim(REQUEST_TIMEOUT_S)
    if sim is None:
        raise HTTPException(504, "the simulated G1 did not report being released within 1 s")
    return {"frozen": False, "releases": sim.get("releases")}


@router.post(
    "/{trigger}",
    summary="Request a transition",
    description=(
        "start (ZERO_TORQUE -> MOVE_TO_DEFAULT), default (-> MOVE_TO_DEFAULT, also leaves DAMPING), "
        "run (HOLD_DEFAULT -> RUN), damp (any -> DAMPING). 409 with the reason when refused."
    ),
    response_model=TransitionResponse,
    responses={409: {"description": "refused (reason in detail)"}, 503: {"description": "no lowcmd node"}},
)
def post_transition(trigger: G1Trigger, request: Request) -> TransitionResponse:
    bridge, _, _ = _live_status(request)
    result = bridge.request(trigger.value, REQUEST_TIMEOUT_S)
    if result is None:
        raise HTTPException(504, f"the G1 lowcmd node did not acknowledge {trigger.value!r} within 1 s")
    response = TransitionResponse(
        ok=bool(result.get("ok")),
        changed=bool(result.get("changed")),
        trigger=trigger.value,
        state=str(result.get("state")),
        reason=str(result.get("reason") or ""),
    )
    if not response.ok:
        raise HTTPException(409, f"{trigger.value!r} refused in {response.state}: {response.reason}")
    return response
