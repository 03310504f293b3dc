"""``unitree_velocity_g1_v0`` policies: Unitree's G1 velocity-tracking ONNX policy and its deploy YAML.

Config validation and a loader that checks the model's I/O against it (used by the cloud publish
path), and the runtime adapter (:class:`UnitreeVelocityPolicy`: observation building, 29-motor PD
targets, recurrent state) built on them. ``load_velocity_policy(dir)`` loads ``policy.onnx`` +
``deploy.yaml`` from a policy directory.
"""

from runtime.policies.onnx_metadata.stepper import NonFiniteError
from runtime.policies.unitree_velocity.configuration_unitree_velocity import (
    G1_NUM_MOTORS,
    UnitreeVelocityConfig,
    UnitreeVelocityConfigError,
    load_deploy_yaml,
    parse_unitree_velocity_config,
)
from runtime.policies.unitree_velocity.g1 import G1_MOTOR_NAMES
from runtime.policies.unitree_velocity.loader import (
    UnitreeModelBinding,
    bind_unitree_model,
    load_unitree_velocity_policy,
)
from runtime.policies.unitree_velocity.modeling_unitree_velocity import (
    DEPLOY_FILE,
    POLICY_FILE,
    MotorTargets,
    UnitreeVelocityPolicy,
    load_velocity_policy,
)
from runtime.policies.unitree_velocity.motor_layout import MotorLayout, motor_layout

__all__ = [
    "DEPLOY_FILE",
    "G1_MOTOR_NAMES",
    "G1_NUM_MOTORS",
    "POLICY_FILE",
    "MotorLayout",
    "MotorTargets",
    "NonFiniteError",
    "UnitreeModelBinding",
    "UnitreeVelocityConfig",
    "UnitreeVelocityConfigError",
    "UnitreeVelocityPolicy",
    "bind_unitree_model",
    "load_deploy_yaml",
    "load_unitree_velocity_policy",
    "load_velocity_policy",
    "motor_layout",
    "parse_unitree_velocity_config",
]
