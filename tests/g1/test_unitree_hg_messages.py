"""The built unitree_hg interface package: field layout, DDS type names, and round trips over real DDS.

These need ``scripts/build_ros_interfaces.sh`` to have run (``make setup`` does it): an unbuilt
package is a failure here, not a skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime.g1.crc import set_lowcmd_crc, set_lowstate_crc, verify_lowcmd_crc, verify_lowstate_crc

HERE = Path(__file__).resolve().parent
PEER = HERE / "msg_roundtrip_peer.py"
TYPES = ("LowCmd", "LowState", "MotorCmd", "MotorState", "IMUState")
ECHO_TOPICS = {
    "LowCmd": "/lowcmd",
    "LowState": "/lowstate",
    "MotorCmd": "/g1_roundtrip/motor_cmd",
    "MotorState": "/g1_roundtrip/motor_state",
    "IMUState": "/g1_roundtrip/imu_state",
}
# Unitree's unitree_hg .msg definitions, field for field (name, ROS type), in order.
UNITREE_FIELDS = {
    "MotorCmd": [
        ("mode", "uint8"),
        ("q", "float"),
        ("dq", "float"),
        ("tau", "float"),
        ("kp", "float"),
        ("kd", "float"),
        ("reserve", "uint32"),
    ],
    "LowCmd": [
        ("mode_pr", "uint8"),
        ("mode_machine", "uint8"),
        ("motor_cmd", "unitree_hg/MotorCmd[35]"),
        ("reserve", "uint32[4]"),
        ("crc", "uint32"),
    ],
    "MotorState": [
        ("mode", "uint8"),
        ("q", "float"),
        ("dq", "float"),
        ("ddq", "float"),
        ("tau_est", "float"),
        ("temperature", "int16[2]"),
        ("vol", "float"),
        ("sensor", "uint32[2]"),
        ("motorstate", "uint32"),
        ("reserve", "uint32[4]"),
    ],
    "IMUState": [
        ("quaternion", "float[4]"),
        ("gyroscope", "float[3]"),
        ("accelerometer", "float[3]"),
        ("rpy", "float[3]"),
        ("temperature", "int16"),
    ],
    "LowState": [
        ("version", "uint32[2]"),
        ("mode_pr", "uint8"),
        ("mode_machine", "uint8"),
        ("tick", "uint32"),
        ("imu_state", "unitree_hg/IMUState"),
        ("motor_state", "unitree_hg/MotorState[35]"),
        ("wireless_remote", "uint8[40]"),
        ("reserve", "uint32[4]"),
        ("crc", "uint32"),
    ],
}
LEAF_COUNTS = {"MotorCmd": 7, "MotorState": 15, "IMUState": 14, "LowCmd": 252, "LowState": 589}


def msg_class(name: str) -> type:
    """``unitree_hg.msg.<name>``; fails (does not skip) when the package is not built."""
    try:
        import unitree_hg.msg
    except ImportError as exc:  # pragma: no cover - the message says what to do
        pytest.fail(f"unitree_hg is not installed in {sys.prefix}: run scripts/build_ros_interfaces.sh ({exc})")
    return getattr(unitree_hg.msg, name)


# ----------------------------------------------------------------------------------- random fill / compare

_INT_RANGES = {"uint8": (0, 255), "uint32": (0, 2**32 - 1), "int16": (-(2**15), 2**15 - 1)}
_NP_TYPES = {"uint8": np.uint8, "uint32": np.uint32, "int16": np.int16, "float": np.float32}


def _random_scalar(base: str, rng: np.random.Generator) -> int | float:
    if base == "float":
        return float(np.float32(rng.normal(0.0, 50.0)))  # exactly representable as float32
    lo, hi = _INT_RANGES[base]
    return int(rng.integers(lo, hi, endpoint=True))


def fill_random(msg: Any, rng: np.random.Generator) -> Any:
    """Set every field of ``msg`` (recursively) to a random value; returns ``msg``."""
    for name, ros_type in msg.get_fields_and_field_types().items():
        base, _, size = ros_type.partition("[")
        if base.startswith("unitree_hg/"):
            value = getattr(msg, name)
            for item in value if size else [value]:
                fill_random(item, rng)
        elif size:
            n = int(size.rstrip("]"))
            setattr(msg, name, np.array([_random_scalar(base, rng) for _ in range(n)], dtype=_NP_TYPES[base]))
        else:
            setattr(msg, name, _random_scalar(base, rng))
    return msg


def assert_same(sent: Any, got: Any, path: str = "") -> int:
    """Compare every field recursively (exactly); returns the number of scalar values compared."""
    assert type(got) is type(sent), f"{path}: {type(got)} != {type(sent)}"
    count = 0
    for name, ros_type in sent.get_fields_and_field_types().items():
        a, b, where = getattr(sent, name), getattr(got, name), f"{path}.{name}"
        if ros_type.startswith("unitree_hg/"):
            if "[" in ros_type:
                assert len(a) == len(b), f"{where}: {len(b)} items, sent {len(a)}"
                for i, (x, y) in enumerate(zip(a, b, strict=True)):
                    count += assert_same(x, y, f"{where}[{i}]")
            else:
                count += assert_same(a, b, where)
        elif "[" in ros_type:
            assert isinstance(b, np.ndarray) and b.dtype == a.dtype, f"{where}: {b!r} vs {a!r}"
            assert np.array_equal(a, b), f"{where}: got {b}, sent {a}"
            count += a.size
        else:
            assert a == b, f"{where}: got {b!r}, sent {a!r}"
            count += 1
    return count


# ----------------------------------------------------------------------------------- processes / nodes


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
    return value


class Peer:
    """tests/g1/msg_roundtrip_peer.py in its own process on ``domain``."""

    def __init__(self, domain: int, log_path: Path) -> None:
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
        env["PYTHONUNBUFFERED"] = "1"
        self.log_path = log_path
        self._log = open(log_path, "w+b")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, str(PEER)], env=env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 60.0, f"the echo peer to start (log: {log_path})")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"echo peer exited with {self.proc.returncode}:\n{self.log()}")
        return b"READY" in self.log_path.read_bytes()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> int:
        try:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            return self.proc.returncode
        finally:
            self._log.close()


class RosNode:
    """An rclpy node in its own Context on ``domain``, spun by a background executor thread."""

    def __init__(self, domain: int) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
        self.node = rclpy.create_node("g1_roundtrip_test", context=self.context)
        self.qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            self.executor.spin()

    def shutdown(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self.context.try_shutdown()
        self._thread.join(5.0)


@pytest.fixture
def peer(ros_domain: int, tmp_path: Path) -> Iterator[Peer]:
    msg_class("LowCmd")  # fail fast, before starting processes, when the package is not built
    p = Peer(ros_domain, tmp_path / "peer.log")
    try:
        yield p
    finally:
        rc = p.stop()
    assert rc == 0, f"echo peer exited with {rc}:\n{p.log()}"


@pytest.fixture
def ros_node(ros_domain: int) -> Iterator[RosNode]:
    node = RosNode(ros_domain)
    try:
        yield node
    finally:
        node.shutdown()


# ----------------------------------------------------------------------------------- static checks


@pytest.mark.parametrize("name", TYPES)
def test_fields_match_unitree(name: str) -> None:
    cls = msg_class(name)
    fields = list(cls.get_fields_and_field_types().items())
    assert fields == UNITREE_FIELDS[name]


def test_array_sizes() -> None:
    low_cmd, low_state = msg_class("LowCmd")(), msg_class("LowState")()
    assert len(low_cmd.motor_cmd) == 35
    assert low_cmd.reserve.shape == (4,) and low_cmd.reserve.dtype == np.uint32
    assert len(low_state.motor_state) == 35
    assert low_state.wireless_remote.shape == (40,) and low_state.wireless_remote.dtype == np.uint8
    assert low_state.imu_state.quaternion.shape == (4,)
    assert low_state.motor_state[0].temperature.dtype == np.int16
    sizes = {
        name: getattr(t, "size", None)
        for name, t in zip(low_state.get_fields_and_field_types(), type(low_state).SLOT_TYPES, strict=True)
    }
    assert sizes == {
        "version": 2,
        "mode_pr": None,
        "mode_machine": None,
        "tick": None,
        "imu_state": None,
        "motor_state": 35,
        "wireless_remote": 40,
        "reserve": 4,
        "crc": None,
    }


def _fastrtps_callbacks(cls: type) -> tuple[str, str]:
    """(message_namespace_, message_name_) from the type's rosidl_typesupport_fastrtps_c support.

    rmw_fastrtps registers the DDS type as ``<namespace>::dds_::<name>_`` from exactly these two strings.
    """
    cls.__class__.__import_type_support__()
    capsule = cls._TYPE_SUPPORT
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    type_support = get_pointer(capsule, None)
    runtime_c = ctypes.CDLL("librosidl_runtime_c.so")
    runtime_c.get_message_typesupport_handle.restype = ctypes.c_void_p
    runtime_c.get_message_typesupport_handle.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    handle = runtime_c.get_message_typesupport_handle(type_support, b"rosidl_typesupport_fastrtps_c")
    assert handle, f"no rosidl_typesupport_fastrtps_c support for {cls.__name__}"

    class Handle(ctypes.Structure):  # rosidl_message_type_support_t (leading members)
        _fields_ = [("typesupport_identifier", ctypes.c_char_p), ("data", ctypes.c_void_p)]

    class Callbacks(ctypes.Structure):  # message_type_support_callbacks_t (leading members)
        _fields_ = [("message_namespace", ctypes.c_char_p), ("message_name", ctypes.c_char_p)]

    callbacks = Callbacks.from_address(Handle.from_address(handle).data)
    return callbacks.message_namespace.decode(), callbacks.message_name.decode()


@pytest.mark.parametrize("name", TYPES)
def test_type_support_names(name: str) -> None:
    namespace, msg_name = _fastrtps_callbacks(msg_class(name))
    assert (namespace, msg_name) == ("unitree_hg::msg", name)
    assert f"{namespace}::dds_::{msg_name}_" == f"unitree_hg::msg::dds_::{name}_"


def test_generated_idl_is_installed_in_the_venv() -> None:
    idl = Path(sys.prefix) / "share" / "unitree_hg" / "msg" / "LowCmd.idl"
    text = idl.read_text()
    assert "module unitree_hg {" in text and "module msg {" in text and "struct LowCmd {" in text
    assert "unitree_hg__msg__MotorCmd__35[35]" in text


# ----------------------------------------------------------------------------------- over DDS


def test_dds_type_and_topic_names_seen_in_discovery(peer: Peer, ros_node: RosNode) -> None:
    """The peer's endpoints, as DDS discovery reports them (no demangling): rt/... topics, ::dds_:: types."""
    expected = {
        f"rt{topic}{suffix}": f"unitree_hg::msg::dds_::{name}_"
        for name, topic in ECHO_TOPICS.items()
        for suffix in ("", "_echo")
    }

    def discovered() -> dict[str, list[str]] | None:
        found = dict(ros_node.node.get_topic_names_and_types(no_demangle=True))
        return found if all(t in found for t in expected) else None

    found = wait_until(discovered, 30.0, "the peer's topics in DDS discovery")
    for topic, dds_type in expected.items():
        assert found[topic] == [dds_type], topic

    # The writer is the peer's (node names arrive over ros_discovery_info, a little after DDS discovery).
    def endpoints(get: Callable[..., list[Any]], topic: str, **kw: bool) -> list[tuple[str, str]] | None:
        found = [(e.node_name, e.topic_type) for e in get(topic, **kw)]
        return found if found and all(n == "g1_roundtrip_peer" for n, _ in found) else None

    node = ros_node.node
    writers = wait_until(
        lambda: endpoints(node.get_publishers_info_by_topic, "rt/lowcmd_echo", no_mangle=True),
        30.0,
        "the peer's node name",
    )
    assert writers == [("g1_roundtrip_peer", "unitree_hg::msg::dds_::LowCmd_")]
    readers = wait_until(
        lambda: endpoints(node.get_subscriptions_info_by_topic, "/lowstate"), 30.0, "the peer's reader"
    )
    assert readers == [("g1_roundtrip_peer", "unitree_hg/msg/LowState")]  # the ROS view of the same entity


@pytest.mark.parametrize("name", TYPES)
def test_round_trip_across_processes(name: str, peer: Peer, ros_node: RosNode) -> None:
    cls = msg_class(name)
    sent = fill_random(cls(), np.random.default_rng(TYPES.index(name)))
    if name == "LowCmd":
        set_lowcmd_crc(sent)
    elif name == "LowState":
        set_lowstate_crc(sent)

    received: list[Any] = []
    lock = threading.Lock()

    def on_echo(msg: Any) -> None:
        with lock:
            received.append(msg)

    topic = ECHO_TOPICS[name]
    node = ros_node.node
    node.create_subscription(cls, topic + "_echo", on_echo, ros_node.qos)
    pub = node.create_publisher(cls, topic, ros_node.qos)
    deadline = time.monotonic() + 30.0
    while not received:  # resend until the peer has matched both ways (volatile durability)
        if time.monotonic() > deadline:
            raise AssertionError(f"no {name} echoed back within 30 s\n--- peer log ---\n{peer.log()}")
        pub.publish(sent)
        time.sleep(0.1)
    with lock:
        echoes = list(received)

    for echo in echoes:
        assert echo is not sent
        assert assert_same(sent, echo, name) == LEAF_COUNTS[name]
        assert echo == sent
    if name == "LowCmd":
        assert verify_lowcmd_crc(echoes[0])
    elif name == "LowState":
        assert verify_lowstate_crc(echoes[0])
