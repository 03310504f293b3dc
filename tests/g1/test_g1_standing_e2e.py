"""The shipped trained policy keeps the simulated G1 standing on the ground, across processes over real ROS 2.

``runrobot g1 sim --freeze`` (floating base, on the floor) + ``runrobot g1 lowcmd --policy
config/g1/trained_policy``: ZERO_TORQUE -> start -> HOLD_DEFAULT -> RUN while the sim is frozen (the
robot held as by an operator), then ``/g1/sim/release``: the policy balances the robot for several
seconds with a forward command too. DAMPING then lets it sink: the stop is passive, as on the robot.
The ground truth is the sim's pelvis pose (``/g1/sim/pose``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.ros_helpers import RunrobotProcess, wait_until
from tests.g1.g1_helpers import G1Recorder
from tests.g1.test_g1_e2e import _diagnose, _env, _stop_all

pytestmark = pytest.mark.e2e

TRAINED = "config/g1/trained_policy"  # resolved by the CLI relative to the project
STANDING_Z = 0.6  # pelvis height (m): the G1 stands at ~0.78, a fallen robot is below ~0.3
BALANCE_S = 6.0


def _pelvis_z(rec: G1Recorder) -> float:
    return float(rec.pose.pose.position.z)


def test_trained_policy_stands_on_the_ground_and_damping_lets_it_sink(ros_domain: int, tmp_path: Path) -> None:
    from geometry_msgs.msg import Twist
    from std_msgs.msg import Empty

    from runtime.ros.g1_messages import CMD_VEL_TOPIC, CONTROL_QOS, SIM_RELEASE_TOPIC

    env = _env(ros_domain)
    rec = G1Recorder(ros_domain)
    procs: list[RunrobotProcess] = []
    try:
        procs.append(RunrobotProcess("g1 sim", ["g1", "sim", "--freeze"], env, tmp_path / "sim.log"))
        # Stale /lowstate keeps its 50 ms test in test_g1_e2e; here a machine-wide stall must not damp the node.
        lowcmd_args = ["g1", "lowcmd", "--policy", TRAINED, "--config", "config/g1/lowcmd.yaml", "--move-time", "1"]
        lowcmd_args += ["--lowstate-timeout", "0.5"]
        procs.append(RunrobotProcess("g1 lowcmd", lowcmd_args, env, tmp_path / "lowcmd.log"))
        rec.wait_state("ZERO_TORQUE", 40)
        rec.request("start")
        rec.wait_state("HOLD_DEFAULT", 8)
        rec.request("run")
        rec.wait_state("RUN", 3)
        wait_until(lambda: rec.pose is not None, 5, "/g1/sim/pose")
        frozen_z = _pelvis_z(rec)

        side = rec.ros.side_node("g1_standing_inputs")
        release = side.create_publisher(Empty, SIM_RELEASE_TOPIC, CONTROL_QOS)
        wait_until(lambda: release.get_subscription_count() >= 1, 10, "a /g1/sim/release subscriber")
        release.publish(Empty())
        wait_until(lambda: rec.sim_status and rec.sim_status["frozen"] is False, 5, "the sim released")

        # Balance: standing still, then with a forward command (the policy holds its place; it does not walk).
        cmd_vel = side.create_publisher(Twist, CMD_VEL_TOPIC, CONTROL_QOS)
        wait_until(lambda: cmd_vel.get_subscription_count() >= 1, 10, "a /cmd_vel subscriber")
        forward = Twist()
        forward.linear.x = 0.3
        lowest, t_end = frozen_z, time.monotonic() + BALANCE_S
        while time.monotonic() < t_end:
            if time.monotonic() > t_end - BALANCE_S / 2:
                cmd_vel.publish(forward)
            lowest = min(lowest, _pelvis_z(rec))
            assert rec.status["state"] == "RUN", rec.status.get("last_safety_event")
            time.sleep(0.02)
        assert lowest > STANDING_Z, f"the robot fell: pelvis down to {lowest:.2f} m (standing {frozen_z:.2f} m)"
        assert rec.status["velocity_command"][0] == pytest.approx(0.3)
        assert rec.sim_status["pelvis"]["position"][2] > STANDING_Z

        # Damping (kp = 0) cannot hold the robot up: it sinks, slowly (kd = 8).
        rec.request("damp")
        rec.wait_state("DAMPING", 3)
        wait_until(lambda: _pelvis_z(rec) < 0.5, 6, "the damped robot to sink")
        assert all(c.crc_ok for c in rec.lowcmds), "a LowCmd went out with a wrong CRC"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnose(procs, rec)}") from None
    finally:
        _stop_all(procs)
        rec.shutdown()
