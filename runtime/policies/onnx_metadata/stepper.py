"""Run an ONNX policy one control step at a time: recurrent state carried, non-finite values refused.

Recurrent models export their state as explicit tensors (``h_in``/``c_in`` -> ``h_out``/``c_out``);
:func:`pair_recurrent_state` matches each extra input with the output fed back into it, and
:class:`OnnxStepper` keeps those outputs between calls. Shared by both G1 runtime adapters, as is
:class:`SteppedOnnxPolicy` (session, recurrent state, previous action, reset).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from runtime.policies.onnx_metadata.onnx_model import TensorInfo

ONNX_DTYPES: dict[str, type[np.generic]] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
}


class NonFiniteError(RuntimeError):
    """NaN or inf in an observation, a policy action or a recurrent state.

    Raised before anything is updated: the previous action and recurrent state stay those of the
    last good step, and no targets are produced. ``where`` names the offending tensor.
    """

    def __init__(self, where: str, values: np.ndarray) -> None:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        bad = np.flatnonzero(~np.isfinite(flat))
        shown = ", ".join(f"[{i}]={flat[i]}" for i in bad[:6]) + (" ..." if len(bad) > 6 else "")
        super().__init__(f"non-finite {where}: {len(bad)} of {flat.size} values ({shown})")
        self.where = where
        self.indices = tuple(int(i) for i in bad)


class UnpairedStateInput(LookupError):
    """A model input that is neither the observation nor a recurrent state with a matching output."""

    def __init__(self, tensor: TensorInfo, free_outputs: tuple[TensorInfo, ...]) -> None:
        super().__init__(tensor.name)
        self.tensor = tensor
        self.free_outputs = free_outputs


def _output_name_candidates(name: str) -> list[str]:
    return [re.sub(r"in$", "out", name), re.sub(r"_in(?=_|$)", "_out", name), re.sub(r"^in", "out", name)]


def pair_recurrent_state(
    extra_inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]
) -> tuple[tuple[str, str], ...]:
    """``(input, output)`` pairs: by name (``*_in`` -> ``*_out``), else by equal shape.

    Raises :class:`UnpairedStateInput` for the first input without a partner.
    """
    free = list(outputs)
    pairs = []
    for tensor in extra_inputs:
        match = next((o for o in free if o.name in _output_name_candidates(tensor.name)), None)
        match = match or next((o for o in free if o.shape == tensor.shape), None)
        if match is None:
            raise UnpairedStateInput(tensor, tuple(free))
        free.remove(match)
        pairs.append((tensor.name, match.name))
    return tuple(pairs)


def _concrete(shape: Sequence[object]) -> tuple[int, ...]:
    """A runnable shape: symbolic or unknown dimensions become 1 (one robot, one step)."""
    return tuple(d if isinstance(d, int) and d > 0 else 1 for d in shape)


class OnnxStepper:
    """One ``session.run`` per control step; carries recurrent state; never returns non-finite actions."""

    def __init__(
        self,
        session,
        obs_input: str,
        action_output: str,
        state: tuple[tuple[str, str], ...] = (),
        action_dim: int | None = None,
    ) -> None:
        inputs = {a.name: a for a in session.get_inputs()}
        obs = inputs[obs_input]
        self.session = session
        self.obs_input = obs_input
        self.action_output = action_output
        self.state_pairs = state
        self.action_dim = action_dim
        self._obs_dtype = ONNX_DTYPES.get(obs.type, np.float32)
        self._obs_lead = _concrete(obs.shape or ())[:-1]
        self._state_init = {
            i: np.zeros(_concrete(inputs[i].shape or ()), ONNX_DTYPES.get(inputs[i].type, np.float32)) for i, _ in state
        }
        self._outputs = [action_output, *(o for _, o in state)]
        self._state: dict[str, np.ndarray] = {}
        self.reset()

    @property
    def recurrent(self) -> bool:
        return bool(self.state_pairs)

    @property
    def state(self) -> dict[str, np.ndarray]:
        """The recurrent state the next step will be fed (input name -> array); copies."""
        return {k: v.copy() for k, v in self._state.items()}

    def reset(self) -> None:
        """Zero the recurrent state."""
        self._state = {k: v.copy() for k, v in self._state_init.items()}

    def run(self, obs: np.ndarray) -> np.ndarray:
        """The action (1-D, model dtype) for ``obs``; raises :class:`NonFiniteError` before updating state."""
        obs = np.asarray(obs)
        if not np.isfinite(obs).all():
            raise NonFiniteError("observation", obs)
        feed = {self.obs_input: obs.astype(self._obs_dtype, copy=False).reshape(*self._obs_lead, -1), **self._state}
        results = self.session.run(self._outputs, feed)
        action = np.asarray(results[0]).reshape(-1)
        if self.action_dim is not None and action.size != self.action_dim:
            raise ValueError(
                f"model output {self.action_output!r} has {action.size} values, expected {self.action_dim}"
            )
        if not np.isfinite(action).all():
            raise NonFiniteError(f"action (output {self.action_output!r})", action)
        new_state = {}
        for (name_in, name_out), value in zip(self.state_pairs, results[1:], strict=True):
            value = np.asarray(value)
            if not np.isfinite(value).all():
                raise NonFiniteError(f"recurrent state (output {name_out!r})", value)
            new_state[name_in] = value.astype(self._state_init[name_in].dtype, copy=False).reshape(
                self._state_init[name_in].shape
            )
        self._state = new_state
        return action


class SteppedOnnxPolicy:
    """What both G1 runtime adapters share: an :class:`OnnxStepper` and the previous raw action.

    A subclass sets ``config`` (with ``control_dt``) and calls :meth:`_init_stepper`; its ``step``
    builds the observation, gets the action from :meth:`_run` and turns it into targets.
    """

    config: Any
    _stepper: OnnxStepper
    _last_action: np.ndarray

    def _init_stepper(self, stepper: OnnxStepper, action_dim: int) -> None:
        self._stepper = stepper
        self._last_action = np.zeros(action_dim, dtype=np.float32)

    @property
    def session(self) -> Any:
        """The onnxruntime session (CPU, 1 intra-op thread, no spinning by default)."""
        return self._stepper.session

    @property
    def control_dt(self) -> float:
        return self.config.control_dt

    @property
    def recurrent(self) -> bool:
        return self._stepper.recurrent

    @property
    def recurrent_state(self) -> dict[str, np.ndarray]:
        """The state fed to the next step (input name -> array); empty for feed-forward models."""
        return self._stepper.state

    @property
    def last_action(self) -> np.ndarray:
        return self._last_action.copy()

    def reset(self) -> None:
        """Zero the previous action and the recurrent state (call on every entry into RUN)."""
        self._last_action[:] = 0.0
        self._stepper.reset()

    def _run(self, obs: np.ndarray) -> np.ndarray:
        """The float32 action for ``obs``, kept as the previous action; raises :class:`NonFiniteError`
        (nothing updated) on NaN/inf."""
        action = self._stepper.run(obs).astype(np.float32)
        self._last_action = action
        return action
