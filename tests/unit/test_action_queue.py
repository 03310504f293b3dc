"""Unit tests for runtime.queue.action_queue and runtime.queue.aggregation."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from runtime.queue.action_queue import ActionQueue, MergeReport
from runtime.queue.aggregation import (
    AGGREGATE_FUNCTIONS,
    TemporalEnsemble,
    average,
    conservative,
    latest_only,
    make_aggregator,
    weighted_average,
)

OLD = np.array([1.0, -2.0, 10.0])
NEW = np.array([3.0, 4.0, -10.0])
ALL_NAMES = ["average", "conservative", "latest_only", "temporal_ensemble", "weighted_average"]


def _chunk(values: list[float], dim: int = 2) -> np.ndarray:
    """A (len(values), dim) chunk whose row i is values[i] in every column."""
    return np.repeat(np.asarray(values, dtype=np.float64)[:, None], dim, axis=1)


def _ensemble_mean(predictions: list[np.ndarray], coeff: float) -> np.ndarray:
    weights = np.exp(-coeff * np.arange(len(predictions)))
    return np.sum(weights[:, None] * np.stack(predictions), axis=0) / weights.sum()


# --------------------------------------------------------------------------- aggregate functions


def test_registry_names() -> None:
    assert sorted(AGGREGATE_FUNCTIONS) == ALL_NAMES


def test_latest_only_returns_new() -> None:
    np.testing.assert_array_equal(latest_only(OLD, NEW, 1), NEW)
    np.testing.assert_array_equal(latest_only(OLD, NEW, 7), NEW)


def test_weighted_average_exact() -> None:
    np.testing.assert_allclose(weighted_average(OLD, NEW, 1), [2.4, 2.2, -4.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(weighted_average(OLD, NEW, 5), 0.3 * OLD + 0.7 * NEW, rtol=0, atol=1e-12)


def test_average_exact() -> None:
    np.testing.assert_allclose(average(OLD, NEW, 1), [2.0, 1.0, 0.0], rtol=0, atol=1e-12)


def test_conservative_exact() -> None:
    np.testing.assert_allclose(conservative(OLD, NEW, 1), [1.6, -0.2, 4.0], rtol=0, atol=1e-12)


def test_fixed_weight_aggregators_ignore_count() -> None:
    for fn in (weighted_average, average, conservative):
        np.testing.assert_array_equal(fn(OLD, NEW, 1), fn(OLD, NEW, 9))


def test_aggregators_do_not_mutate_inputs() -> None:
    old, new = OLD.copy(), NEW.copy()
    for name in ALL_NAMES:
        make_aggregator(name)(old, new, 1)
        make_aggregator(name)(old, new, 3)
    np.testing.assert_array_equal(old, OLD)
    np.testing.assert_array_equal(new, NEW)


def test_make_aggregator_returns_named_functions() -> None:
    assert make_aggregator("latest_only") is latest_only
    assert make_aggregator("weighted_average") is weighted_average
    assert make_aggregator("average") is average
    assert make_aggregator("conservative") is conservative
    te = make_aggregator("temporal_ensemble", 0.25)
    assert isinstance(te, TemporalEnsemble)
    assert te.coeff == 0.25
    assert make_aggregator("temporal_ensemble").coeff == 0.01


def test_unknown_aggregate_name_lists_choices() -> None:
    with pytest.raises(ValueError) as exc_info:
        make_aggregator("median")
    msg = str(exc_info.value)
    assert "median" in msg
    for name in ALL_NAMES:
        assert name in msg


def test_temporal_ensemble_weights() -> None:
    te = TemporalEnsemble(0.5)
    assert te.weight(0) == 1.0
    assert te.weight(1) == pytest.approx(math.exp(-0.5), rel=1e-15)
    assert te.weight(3) == pytest.approx(math.exp(-1.5), rel=1e-15)
    assert te.cumulative(0) == 0.0
    assert te.cumulative(1) == 1.0
    assert te.cumulative(3) == pytest.approx(1 + math.exp(-0.5) + math.exp(-1.0), rel=1e-15)


def test_temporal_ensemble_first_merge_exact() -> None:
    c = 0.5
    w1 = math.exp(-c)
    expected = (OLD * 1.0 + NEW * w1) / (1.0 + w1)
    np.testing.assert_allclose(TemporalEnsemble(c)(OLD, NEW, 1), expected, rtol=0, atol=1e-12)


def test_temporal_ensemble_zero_coeff_is_plain_mean() -> None:
    te = TemporalEnsemble(0.0)
    preds = [np.array([1.0]), np.array([2.0]), np.array([6.0]), np.array([11.0])]
    acc = preds[0]
    for count, p in enumerate(preds[1:], start=1):
        acc = te(acc, p, count)
    np.testing.assert_allclose(acc, [5.0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("coeff", [0.01, 0.5])
def test_temporal_ensemble_three_successive_merges(coeff: float) -> None:
    te = TemporalEnsemble(coeff)
    preds = [np.array([0.0, 10.0]), np.array([4.0, -2.0]), np.array([8.0, 1.0]), np.array([-6.0, 3.0])]
    acc = preds[0]
    for count in (1, 2, 3):
        acc = te(acc, preds[count], count)
        np.testing.assert_allclose(acc, _ensemble_mean(preds[: count + 1], coeff), rtol=0, atol=1e-12)
    # oldest prediction weighs the most: result differs from a newest-first weighting
    reversed_mean = _ensemble_mean(preds[::-1], coeff)
    assert not np.allclose(acc, reversed_mean, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- merge through the queue


@pytest.mark.parametrize(
    ("name", "expected_overlap"),
    [
        ("latest_only", [10.0, 20.0, 30.0]),
        ("weighted_average", [0.3 * 1 + 0.7 * 10, 0.3 * 2 + 0.7 * 20, 0.3 * 3 + 0.7 * 30]),
        ("average", [5.5, 11.0, 16.5]),
        ("conservative", [0.7 * 1 + 0.3 * 10, 0.7 * 2 + 0.3 * 20, 0.7 * 3 + 0.3 * 30]),
        ("temporal_ensemble", [(v + 10 * v * math.exp(-0.01)) / (1 + math.exp(-0.01)) for v in (1.0, 2.0, 3.0)]),
    ],
)
def test_queue_merge_overlap_values(name: str, expected_overlap: list[float]) -> None:
    q = ActionQueue(chunk_size=4, aggregate_fn=name)
    r1 = q.merge(_chunk([0.0, 1.0, 2.0, 3.0]), first_timestep=0, current_timestep=0)
    assert r1 == MergeReport(dropped=0, appended=4, merged=0)
    r2 = q.merge(_chunk([10.0, 20.0, 30.0, 40.0]), first_timestep=1, current_timestep=1)
    assert r2 == MergeReport(dropped=0, appended=1, merged=3)
    assert q.depth() == 4  # step 0 was discarded at current_timestep=1
    assert q.pop(0) is None
    for t, value in zip((1, 2, 3), expected_overlap, strict=True):
        np.testing.assert_allclose(q.pop(t), [value, value], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(q.pop(4), [40.0, 40.0])
    assert q.depth() == 0


@pytest.mark.parametrize("coeff", [0.01, 0.5])
def test_queue_temporal_ensemble_three_merges(coeff: float) -> None:
    q = ActionQueue(chunk_size=4, aggregate_fn="temporal_ensemble", temporal_ensemble_coeff=coeff)
    rng = np.random.default_rng(42)
    chunks = [rng.normal(size=(4, 3)) for _ in range(4)]
    for c in chunks:
        q.merge(c, first_timestep=0, current_timestep=0)
    # step t received 4 predictions, oldest first
    summary = q.summary()
    assert summary["max_predictions_per_step"] == 4
    for t in range(4):
        np.testing.assert_allclose(q.pop(t), _ensemble_mean([c[t] for c in chunks], coeff), rtol=0, atol=1e-12)


def test_queue_temporal_ensemble_staggered_counts() -> None:
    coeff = 0.5
    q = ActionQueue(chunk_size=3, aggregate_fn="temporal_ensemble", temporal_ensemble_coeff=coeff)
    a, b, c = _chunk([1.0, 2.0, 3.0]), _chunk([5.0, 7.0, 9.0]), _chunk([-4.0, 0.5, 8.0])
    q.merge(a, 0, 0)  # steps 0,1,2
    q.merge(b, 1, 0)  # steps 1,2,3
    q.merge(c, 2, 0)  # steps 2,3,4
    expected = {
        0: [1.0],
        1: _ensemble_mean([np.array([2.0]), np.array([5.0])], coeff),
        2: _ensemble_mean([np.array([3.0]), np.array([7.0]), np.array([-4.0])], coeff),
        3: _ensemble_mean([np.array([9.0]), np.array([0.5])], coeff),
        4: [8.0],
    }
    for t, value in expected.items():
        np.testing.assert_allclose(q.pop(t), np.full(2, value[0]), rtol=0, atol=1e-12)


def test_default_aggregator_is_weighted_average() -> None:
    q = ActionQueue(chunk_size=2)
    assert q.aggregate_fn == "weighted_average"
    q.merge(_chunk([0.0, 10.0]), 0, 0)
    q.merge(_chunk([100.0, 100.0]), 0, 0)
    np.testing.assert_allclose(q.pop(0), [70.0, 70.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(q.pop(1), [73.0, 73.0], rtol=0, atol=1e-12)


def test_repeated_weighted_average_merges_compound() -> None:
    q = ActionQueue(chunk_size=1, aggregate_fn="weighted_average")
    q.merge([[0.0]], 5, 5)
    q.merge([[10.0]], 5, 5)  # 7.0
    q.merge([[0.0]], 5, 5)  # 2.1
    q.merge([[100.0]], 5, 5)  # 0.63 + 70 = 70.63
    assert q.summary()["max_predictions_per_step"] == 4
    np.testing.assert_allclose(q.pop(5), [70.63], rtol=0, atol=1e-12)


def test_merge_report_counts_mixed() -> None:
    q = ActionQueue(chunk_size=5)
    assert q.merge(_chunk([0, 1, 2, 3, 4]), first_timestep=10, current_timestep=10) == MergeReport(0, 5, 0)
    # first_timestep 11 but current 13: steps 11,12 dropped; 13,14 merged; 15,16,17 appended
    report = q.merge(_chunk([0, 1, 2, 3, 4, 5, 6]), first_timestep=11, current_timestep=13)
    assert report == MergeReport(dropped=2, appended=3, merged=2)
    assert report.dropped + report.appended + report.merged == 7
    assert q.depth() == 5
    assert q.summary()["first_timestep"] == 13
    assert q.summary()["last_timestep"] == 17


def test_merge_report_is_frozen() -> None:
    report = MergeReport(dropped=1, appended=2, merged=3)
    with pytest.raises(AttributeError):
        report.dropped = 5  # type: ignore[misc]


def test_merge_entire_chunk_stale() -> None:
    q = ActionQueue(chunk_size=3)
    report = q.merge(_chunk([1.0, 2.0, 3.0]), first_timestep=0, current_timestep=10)
    assert report == MergeReport(dropped=3, appended=0, merged=0)
    assert q.depth() == 0
    assert q.pop(10) is None


def test_merge_future_chunk_leaves_gap() -> None:
    q = ActionQueue(chunk_size=2)
    report = q.merge(_chunk([1.0, 2.0]), first_timestep=5, current_timestep=2)
    assert report == MergeReport(0, 2, 0)
    assert q.pop(2) is None
    assert q.depth() == 2
    np.testing.assert_array_equal(q.pop(5), [1.0, 1.0])


def test_merge_discards_queued_steps_before_current() -> None:
    q = ActionQueue(chunk_size=4)
    q.merge(_chunk([0.0, 1.0, 2.0, 3.0]), 0, 0)
    report = q.merge(_chunk([9.0]), first_timestep=6, current_timestep=2)
    assert report == MergeReport(0, 1, 0)
    assert q.depth() == 3  # 2, 3, 6
    assert q.summary()["first_timestep"] == 2
    assert q.pop(1) is None


# --------------------------------------------------------------------------- latency compensation and pop


def test_latency_compensation_pop_returns_offset_row() -> None:
    q = ActionQueue(chunk_size=8, aggregate_fn="latest_only")
    chunk = np.arange(16, dtype=np.float64).reshape(8, 2)
    first, current = 100, 103
    report = q.merge(chunk, first_timestep=first, current_timestep=current)
    assert report == MergeReport(dropped=3, appended=5, merged=0)
    assert q.depth() == 5
    for t in range(current, first + 8):
        np.testing.assert_array_equal(q.pop(t), chunk[t - first])
    assert q.pop(first + 8) is None
    assert q.depth() == 0


def test_pop_discards_older_steps() -> None:
    q = ActionQueue(chunk_size=5)
    chunk = _chunk([0.0, 1.0, 2.0, 3.0, 4.0])
    q.merge(chunk, 0, 0)
    np.testing.assert_array_equal(q.pop(3), [3.0, 3.0])
    assert q.depth() == 1
    for t in (0, 1, 2, 3):
        assert q.pop(t) is None
    np.testing.assert_array_equal(q.pop(4), [4.0, 4.0])
    assert q.depth() == 0


def test_pop_starvation_returns_none() -> None:
    q = ActionQueue(chunk_size=2)
    assert q.pop(0) is None
    q.merge(_chunk([1.0, 2.0]), 0, 0)
    assert q.pop(5) is None  # not held; also discards 0 and 1
    assert q.depth() == 0
    assert q.pop(1) is None


def test_pop_future_step_not_held_keeps_queue() -> None:
    q = ActionQueue(chunk_size=2)
    q.merge(_chunk([1.0, 2.0]), 10, 10)
    assert q.pop(9) is None
    assert q.depth() == 2


def test_pop_resets_prediction_count() -> None:
    q = ActionQueue(chunk_size=1, aggregate_fn="temporal_ensemble", temporal_ensemble_coeff=0.5)
    q.merge([[0.0]], 0, 0)
    q.merge([[1.0]], 0, 0)
    q.pop(0)
    assert q.summary()["max_predictions_per_step"] == 0
    # a fresh step 0 starts a new ensemble: first value is taken verbatim
    q.merge([[4.0]], 0, 0)
    assert q.summary()["max_predictions_per_step"] == 1
    np.testing.assert_array_equal(q.pop(0), [4.0])


def test_queue_copies_appended_actions() -> None:
    q = ActionQueue(chunk_size=2)
    chunk = _chunk([1.0, 2.0])
    q.merge(chunk, 0, 0)
    chunk[:] = -99.0
    np.testing.assert_array_equal(q.pop(0), [1.0, 1.0])


@pytest.mark.parametrize("name", ALL_NAMES)
def test_queue_does_not_alias_caller_chunk_after_merge(name: str) -> None:
    q = ActionQueue(chunk_size=2, aggregate_fn=name)
    q.merge(_chunk([1.0, 2.0]), 0, 0)
    second = _chunk([3.0, 4.0])
    q.merge(second, 0, 0)
    expected = q.summary()["next_action"]
    second[:] = -99.0  # caller reuses its buffer
    np.testing.assert_allclose(q.pop(0), expected, rtol=0, atol=1e-4)


# --------------------------------------------------------------------------- depth and refill


def test_depth_counts_from_timestep() -> None:
    q = ActionQueue(chunk_size=10)
    q.merge(np.zeros((10, 3)), first_timestep=20, current_timestep=20)
    assert q.depth() == 10
    assert q.depth(20) == 10
    assert q.depth(0) == 10
    assert q.depth(25) == 5
    assert q.depth(29) == 1
    assert q.depth(30) == 0
    assert q.depth() == 10  # depth does not discard


@pytest.mark.parametrize(
    ("chunk_size", "threshold", "refill_at"),
    [(10, 0.5, 5), (10, 0.0, 0), (10, 1.0, 10), (10, 0.3, 3), (8, 0.25, 2), (7, 0.5, 3)],
)
def test_needs_refill_threshold(chunk_size: int, threshold: float, refill_at: int) -> None:
    q = ActionQueue(chunk_size=chunk_size, chunk_size_threshold=threshold)
    q.merge(np.zeros((chunk_size, 2)), first_timestep=0, current_timestep=0)
    for t in range(chunk_size + 1):
        depth = chunk_size - t
        assert q.depth(t) == depth
        assert q.needs_refill(t) is (depth <= refill_at), (t, depth)


def test_needs_refill_chunk10_threshold_half_while_popping() -> None:
    q = ActionQueue(chunk_size=10, chunk_size_threshold=0.5)
    assert q.needs_refill(0) is True  # empty
    q.merge(np.ones((10, 6)), first_timestep=0, current_timestep=0)
    results = []
    for t in range(10):
        results.append((q.depth(t), q.needs_refill(t)))
        assert q.pop(t) is not None
    assert results == [(10, False), (9, False), (8, False), (7, False), (6, False)] + [
        (d, True) for d in (5, 4, 3, 2, 1)
    ]


@pytest.mark.parametrize("kwargs", [{"chunk_size": 0}, {"chunk_size": -3}])
def test_invalid_chunk_size(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ActionQueue(**kwargs)


@pytest.mark.parametrize("threshold", [-0.01, 1.01, 2.0])
def test_invalid_threshold(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        ActionQueue(chunk_size=10, chunk_size_threshold=threshold)


def test_queue_unknown_aggregate_name_lists_choices() -> None:
    with pytest.raises(ValueError) as exc_info:
        ActionQueue(chunk_size=10, aggregate_fn="bogus")
    msg = str(exc_info.value)
    assert "bogus" in msg
    for name in ALL_NAMES:
        assert name in msg


@pytest.mark.parametrize(
    "chunk",
    [np.zeros(5), np.zeros((2, 3, 4)), np.float64(1.0), [1.0, 2.0]],
    ids=["1d", "3d", "scalar", "list-1d"],
)
def test_invalid_chunk_shape_raises(chunk: object) -> None:
    q = ActionQueue(chunk_size=5)
    q.merge(np.ones((2, 3)), 0, 0)
    with pytest.raises(ValueError, match="2-D"):
        q.merge(chunk, 0, 0)  # type: ignore[arg-type]
    assert q.depth() == 2


def test_merge_accepts_nested_lists_and_returns_float64() -> None:
    q = ActionQueue(chunk_size=2)
    q.merge([[1, 2], [3, 4]], 0, 0)
    out = q.pop(0)
    assert out is not None
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 2.0])


def test_empty_chunk_is_noop() -> None:
    q = ActionQueue(chunk_size=2)
    assert q.merge(np.zeros((0, 3)), 0, 0) == MergeReport(0, 0, 0)
    assert q.depth() == 0


# --------------------------------------------------------------------------- clear and summary


def test_clear() -> None:
    q = ActionQueue(chunk_size=3, aggregate_fn="average")
    q.merge(_chunk([1.0, 2.0, 3.0]), 0, 0)
    q.merge(_chunk([1.0, 2.0, 3.0]), 0, 0)
    q.clear()
    assert q.depth() == 0
    assert q.pop(0) is None
    s = q.summary()
    assert s["size"] == 0 and s["max_predictions_per_step"] == 0
    # after clear, the next merge appends rather than merges
    assert q.merge(_chunk([7.0, 8.0, 9.0]), 0, 0) == MergeReport(0, 3, 0)
    np.testing.assert_array_equal(q.pop(0), [7.0, 7.0])


def test_summary_empty() -> None:
    q = ActionQueue(chunk_size=10, aggregate_fn="conservative", chunk_size_threshold=0.25)
    assert q.summary() == {
        "size": 0,
        "first_timestep": None,
        "last_timestep": None,
        "chunk_size": 10,
        "chunk_size_threshold": 0.25,
        "aggregate_fn": "conservative",
        "max_predictions_per_step": 0,
        "next_action": None,
    }


def test_summary_populated() -> None:
    q = ActionQueue(chunk_size=4, aggregate_fn="average", chunk_size_threshold=0.5)
    q.merge(np.array([[1.123456, 2.0], [3.0, 4.0], [5.0, 6.0]]), first_timestep=7, current_timestep=7)
    q.merge(np.array([[2.0, 3.0], [7.0, 8.0], [9.0, 9.0]]), first_timestep=8, current_timestep=7)
    s = q.summary()
    assert s["size"] == 4
    assert s["first_timestep"] == 7
    assert s["last_timestep"] == 10
    assert s["chunk_size"] == 4
    assert s["chunk_size_threshold"] == 0.5
    assert s["aggregate_fn"] == "average"
    assert s["max_predictions_per_step"] == 2
    assert s["next_action"] == [1.1235, 2.0]
    assert isinstance(s["next_action"], list)
    q.pop(7)
    assert q.summary()["next_action"] == [2.5, 3.5]


# --------------------------------------------------------------------------- thread safety


def test_thread_safety_merge_and_pop() -> None:
    chunk_size, n_chunks = 10, 300
    q = ActionQueue(chunk_size=chunk_size, aggregate_fn="temporal_ensemble")
    errors: list[BaseException] = []
    reports: list[MergeReport] = []
    popped: dict[int, np.ndarray] = {}
    clock = {"t": 0}
    clock_lock = threading.Lock()
    producer_done = threading.Event()

    def producer() -> None:
        try:
            for k in range(n_chunks):
                with clock_lock:
                    now = clock["t"]
                first = max(0, now - 2)  # simulated latency: chunk is up to 2 ticks stale
                chunk = np.full((chunk_size, 3), float(k))
                reports.append(q.merge(chunk, first_timestep=first, current_timestep=now))
                q.summary()
                q.needs_refill(now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            producer_done.set()

    def consumer() -> None:
        try:
            while not producer_done.is_set() or q.depth() > 0:
                with clock_lock:
                    t = clock["t"]
                    clock["t"] += 1
                action = q.pop(t)
                if action is not None:
                    popped[t] = action
                q.depth(t)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=10)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    assert len(reports) == n_chunks
    for r in reports:
        assert r.dropped + r.appended + r.merged == chunk_size
        assert 0 <= r.dropped <= 2
    total_appended = sum(r.appended for r in reports)
    # every appended step was either popped or discarded; queue drained at the end
    assert q.depth() == 0
    assert 0 < len(popped) <= total_appended
    for action in popped.values():
        assert action.shape == (3,)
        assert np.all(np.isfinite(action))
        assert np.all(action >= 0.0) and np.all(action <= n_chunks - 1)
        assert np.all(action == action[0])  # rows are constant, so the mean is too


def test_thread_safety_concurrent_mergers_counts() -> None:
    chunk_size, per_thread, n_threads = 5, 200, 4
    q = ActionQueue(chunk_size=chunk_size, aggregate_fn="average")
    reports: list[MergeReport] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n_threads)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                r = q.merge(np.ones((chunk_size, 2)), first_timestep=0, current_timestep=0)
                with lock:
                    reports.append(r)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=10)
    assert errors == []
    assert len(reports) == n_threads * per_thread
    assert sum(r.appended for r in reports) == chunk_size  # only the first merge appends
    assert sum(r.merged for r in reports) == chunk_size * (n_threads * per_thread - 1)
    assert q.summary()["max_predictions_per_step"] == n_threads * per_thread
    assert q.depth() == chunk_size
    np.testing.assert_allclose(q.pop(0), [1.0, 1.0])
