"""The shipped trained policy stands and walks the simulated G1 on command, across processes over real ROS 2.

``runrobot g1 sim --freeze`` (floating base, on the floor; ``--weld-upper-body`` only if the policy
was trained so, as its ``training.json`` says) + ``runrobot g1 lowcmd --policy
config/g1/trained_policy``: ZERO_TORQUE -> start -> HOLD_DEFAULT -> RUN while the sim is frozen (the
robot held as by an operator), then ``/g1/sim/release``. It stands; with ``/cmd_vel`` vx forward the
pelvis (the sim's ground truth on ``/g1/sim/pose``) travels forward along its initial heading without
turning away, upright; back to a zero command it stops. DAMPING then lets it sink: the stop is
passive, as on the robot.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from runtime.g1.orientation import quat_to_rpy
from tests.e2e.ros_helpers import RunrobotProcess, wait_until
from tests.g1.g1_helpers import G1Recorder
from tests.g1.test_g1_e2e import _env, g1_stack

pytestmark = pytest.mark.e2e

TRAINED = "config/g1/trained_policy"  # resolved by the CLI relative to the project
SHIPPED = Path(__file__).resolve().parents[2] / TRAINED
STANDING_Z = 0.6  # pelvis height (m): the G1 stands at ~0.78, a fallen robot is below ~0.3
VX = 0.5
WALK_S = 8.0
MIN_FORWARD_M = 2.0  # half of 0.5 m/s x 8 s: a policy that steps in place or walks in circles makes far less
MAX_YAW_DEG = 45.0


def _pose(rec: G1Recorder) -> tuple[np.ndarray, float]:
    """Pelvis position and yaw (rad) from the sim's ground truth."""
    p, q = rec.pose.pose.position, rec.pose.pose.orientation
    return np.array([p.x, p.y, p.z]), float(quat_to_rpy([q.w, q.x, q.y, q.z])[2])


def test_trained_policy_walks_on_command_and_damping_lets_it_sink(ros_domain: int, tmp_path: Path) -> None:
    from geometry_msgs.msg import Twist
    from std_msgs.msg import Empty

    from runtime.ros.g1_messages import CMD_VEL_TOPIC, CONTROL_QOS, SIM_RELEASE_TOPIC

    welded = json.loads((SHIPPED / "training.json").read_text())["env"]["weld_upper_body"]
    env = _env(ros_domain)
    with g1_stack(ros_domain) as (rec, procs):
        sim_args = ["g1", "sim", "--freeze", *(["--weld-upper-body"] if welded else [])]
        procs.append(RunrobotProcess("g1 sim", sim_args, env, tmp_path / "sim.log"))
        # Stale /lowstate (50 ms) and a missing policy output (2 periods) keep their tight tests in test_g1_e2e;
        # here a stall of the loaded machine (a CI run starved the policy thread for 68 ms) must not damp the node.
        lowcmd_args = ["g1", "lowcmd", "--policy", TRAINED, "--config", "config/g1/lowcmd.yaml", "--move-time", "1"]
        lowcmd_args += ["--lowstate-timeout", "0.5", "--policy-missed-periods", "25"]
        procs.append(RunrobotProcess("g1 lowcmd", lowcmd_args, env, tmp_path / "lowcmd.log"))
        rec.wait_state("ZERO_TORQUE", 40)
        rec.request("start")
        rec.wait_state("HOLD_DEFAULT", 8)
        rec.request("run")
        rec.wait_state("RUN", 3)
        wait_until(lambda: rec.pose is not None, 5, "/g1/sim/pose")

        side = rec.ros.side_node("g1_walking_inputs")
        release = side.create_publisher(Empty, SIM_RELEASE_TOPIC, CONTROL_QOS)
        cmd_vel = side.create_publisher(Twist, CMD_VEL_TOPIC, CONTROL_QOS)
        wait_until(lambda: release.get_subscription_count() >= 1, 10, "a /g1/sim/release subscriber")
        wait_until(lambda: cmd_vel.get_subscription_count() >= 1, 10, "a /cmd_vel subscriber")
        release.publish(Empty())
        wait_until(lambda: rec.sim_status and rec.sim_status["frozen"] is False, 5, "the sim released")

        def drive(vx: float, seconds: float) -> float:
            """Publish vx at 20 Hz for ``seconds``; the lowest pelvis height seen."""
            twist = Twist()
            twist.linear.x = vx
            lowest, t_end = 10.0, time.monotonic() + seconds
            while time.monotonic() < t_end:
                cmd_vel.publish(twist)
                lowest = min(lowest, float(rec.pose.pose.position.z))
                assert rec.status["state"] == "RUN", rec.status.get("last_safety_event")
                time.sleep(0.05)
            return lowest

        assert drive(0.0, 2.0) > STANDING_Z, "the robot fell while standing"
        start, yaw0 = _pose(rec)
        assert drive(VX, WALK_S) > STANDING_Z, "the robot fell while walking"
        end, yaw1 = _pose(rec)
        moved = end - start
        forward = math.cos(yaw0) * moved[0] + math.sin(yaw0) * moved[1]
        turned = math.degrees(math.remainder(yaw1 - yaw0, math.tau))
        walked = f"walked {forward:.2f} m forward in {WALK_S:g} s at vx {VX}, turned {turned:.0f} deg"
        print(walked)
        assert forward > MIN_FORWARD_M and abs(turned) < MAX_YAW_DEG, walked
        assert rec.status["velocity_command"][0] == pytest.approx(VX)

        # Zero command: it stops walking (the pelvis travels little more) and stays up.
        assert drive(0.0, 1.5) > STANDING_Z
        stopped, _ = _pose(rec)
        assert drive(0.0, 2.0) > STANDING_Z, "the robot fell after stopping"
        drift = float(np.linalg.norm((_pose(rec)[0] - stopped)[:2]))
        print(f"after stopping the pelvis moved {drift:.2f} m")
        assert drift < 0.4, f"the pelvis kept going {drift:.2f} m with a zero command"

        # Damping (kp = 0) cannot hold the robot up: it sinks, slowly (kd = 8).
        rec.request("damp")
        rec.wait_state("DAMPING", 3)
        wait_until(lambda: float(rec.pose.pose.position.z) < 0.5, 6, "the damped robot to sink")
        assert all(c.crc_ok for c in rec.lowcmds), "a LowCmd went out with a wrong CRC"
