"""``unitree_velocity_g1_v0`` policies: Unitree's G1 velocity-tracking ONNX policy and its deploy YAML.

For now: config validation and a loader that checks the model's I/O against it; the runtime
adapter (observation building, PD targets) comes later and reuses these.
"""

from runtime.policies.unitree_velocity.configuration_unitree_velocity import (
    G1_NUM_MOTORS,
    UnitreeVelocityConfig,
    UnitreeVelocityConfigError,
    load_deploy_yaml,
    parse_unitree_velocity_config,
)
from runtime.policies.unitree_velocity.loader import (
    UnitreeModelBinding,
    bind_unitree_model,
    load_unitree_velocity_policy,
)

__all__ = [
    "G1_NUM_MOTORS",
    "UnitreeModelBinding",
    "UnitreeVelocityConfig",
    "UnitreeVelocityConfigError",
    "bind_unitree_model",
    "load_deploy_yaml",
    "load_unitree_velocity_policy",
    "parse_unitree_velocity_config",
]
