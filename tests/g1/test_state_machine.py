"""The G1 state machine: every legal transition, no-ops, refusals with reasons, bounded history, logging."""

from __future__ import annotations

import logging

import pytest

from runtime.g1.state_machine import (
    AUTOMATIC_TRIGGERS,
    OPERATOR_TRIGGERS,
    TRANSITIONS,
    G1State,
    G1StateMachine,
    Trigger,
)

S, T = G1State, Trigger


def machine_in(state: G1State) -> G1StateMachine:
    """A machine driven to ``state`` through legal transitions."""
    sm = G1StateMachine(now=0.0)
    paths = {
        S.WAIT_STATE: [],
        S.ZERO_TORQUE: [T.LOWSTATE],
        S.MOVE_TO_DEFAULT: [T.LOWSTATE, T.START],
        S.HOLD_DEFAULT: [T.LOWSTATE, T.START, T.ARRIVED],
        S.RUN: [T.LOWSTATE, T.START, T.ARRIVED, T.RUN],
        S.DAMPING: [T.DAMP],
    }
    for i, trig in enumerate(paths[state]):
        assert sm.fire(trig, float(i), "test").changed
    assert sm.state is state
    return sm


EXPECTED = {
    (S.WAIT_STATE, T.LOWSTATE): S.ZERO_TORQUE,
    (S.ZERO_TORQUE, T.START): S.MOVE_TO_DEFAULT,
    (S.ZERO_TORQUE, T.DEFAULT): S.MOVE_TO_DEFAULT,
    (S.MOVE_TO_DEFAULT, T.ARRIVED): S.HOLD_DEFAULT,
    (S.HOLD_DEFAULT, T.RUN): S.RUN,
    (S.RUN, T.DEFAULT): S.MOVE_TO_DEFAULT,
    (S.DAMPING, T.DEFAULT): S.MOVE_TO_DEFAULT,
    (S.WAIT_STATE, T.DAMP): S.DAMPING,
    (S.ZERO_TORQUE, T.DAMP): S.DAMPING,
    (S.MOVE_TO_DEFAULT, T.DAMP): S.DAMPING,
    (S.HOLD_DEFAULT, T.DAMP): S.DAMPING,
    (S.RUN, T.DAMP): S.DAMPING,
}
NOOPS = {(S.DAMPING, T.DAMP), (S.MOVE_TO_DEFAULT, T.DEFAULT), (S.HOLD_DEFAULT, T.DEFAULT), (S.RUN, T.RUN)}


def test_transition_table_is_exactly_the_documented_one() -> None:
    assert TRANSITIONS == EXPECTED
    assert {T.START, T.DEFAULT, T.RUN, T.DAMP} == OPERATOR_TRIGGERS
    assert {T.LOWSTATE, T.ARRIVED} == AUTOMATIC_TRIGGERS


@pytest.mark.parametrize(("state", "trigger"), sorted(EXPECTED, key=str))
def test_every_legal_transition(state: G1State, trigger: Trigger) -> None:
    sm = machine_in(state)
    n = len(sm.history())
    res = sm.fire(trigger, 10.0, "op", "because")
    assert res.ok and res.changed and res.state is EXPECTED[(state, trigger)] is sm.state
    assert sm.entered_at == 10.0
    rec = sm.history()[-1]
    assert len(sm.history()) == n + 1
    assert (rec.t, rec.from_state, rec.to_state, rec.trigger, rec.source, rec.reason) == (
        10.0,
        state,
        EXPECTED[(state, trigger)],
        trigger.value,
        "op",
        "because",
    )


ILLEGAL = [(s, t) for s in G1State for t in Trigger if (s, t) not in EXPECTED and (s, t) not in NOOPS]


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_every_illegal_transition_is_refused_with_a_reason(state: G1State, trigger: Trigger) -> None:
    sm = machine_in(state)
    history, refusals = sm.history(), sm.refusals
    res = sm.fire(trigger, 10.0, "op")
    assert not res.ok and not res.changed and not res
    assert sm.state is state and sm.history() == history
    assert res.reason and sm.refusals == refusals + 1
    assert sm.last_refusal == {
        "t": 10.0,
        "state": state.value,
        "trigger": trigger.value,
        "source": "op",
        "reason": res.reason,
    }


@pytest.mark.parametrize(("state", "trigger"), sorted(NOOPS, key=str))
def test_noops_are_ok_but_change_nothing(state: G1State, trigger: Trigger) -> None:
    sm = machine_in(state)
    history = sm.history()
    res = sm.fire(trigger, 10.0)
    assert res.ok and not res.changed and sm.state is state and sm.history() == history and sm.refusals == 0
    assert res.reason


def test_specific_refusal_reasons() -> None:
    assert "no /lowstate" in machine_in(S.WAIT_STATE).fire(T.START, 1.0).reason
    assert "use 'default'" in machine_in(S.DAMPING).fire(T.START, 1.0).reason
    assert "only from HOLD_DEFAULT" in machine_in(S.ZERO_TORQUE).fire(T.RUN, 1.0).reason
    assert "does not apply" in machine_in(S.RUN).fire(T.ARRIVED, 1.0).reason
    res = machine_in(S.ZERO_TORQUE).fire("jump", 1.0)
    assert not res.ok and "unknown trigger 'jump'" in res.reason


def test_damping_is_left_only_by_default_and_never_to_zero_torque() -> None:
    for trig in Trigger:
        sm = machine_in(S.DAMPING)
        res = sm.fire(trig, 1.0)
        assert sm.state is (S.MOVE_TO_DEFAULT if trig is T.DEFAULT else S.DAMPING), trig
        assert res.state is not S.ZERO_TORQUE


def test_history_is_bounded_and_transitions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    sm = G1StateMachine(now=0.0, history_len=3)
    caplog.set_level(logging.INFO, logger="runtime.g1.state_machine")
    for i, trig in enumerate([T.LOWSTATE, T.START, T.ARRIVED, T.RUN, T.DAMP]):
        sm.fire(trig, float(i), "test", f"step {i}")
    hist = sm.history()
    assert [h.to_state for h in hist] == [S.HOLD_DEFAULT, S.RUN, S.DAMPING]
    assert sm.transitions == 5
    assert hist[-1].as_dict() == {
        "t": 4.0,
        "from_state": "RUN",
        "to_state": "DAMPING",
        "trigger": "damp",
        "source": "test",
        "reason": "step 4",
    }
    msgs = [r.getMessage() for r in caplog.records]
    assert any("RUN -> DAMPING" in m and "step 4" in m for m in msgs)
    assert any(r.levelno == logging.WARNING and "DAMPING" in r.getMessage() for r in caplog.records)
    sm.fire(T.RUN, 5.0, "test")
    assert any("refused" in r.getMessage() for r in caplog.records)
