"""The worker lifecycle: started → progress* → one of succeeded | failed | cancelled → finished."""

import threading
import time

import pytest
from PySide6.QtCore import QObject, Signal

from app.errors import Cancelled, InputError
from app.ui.workers import Job, Lanes


@pytest.fixture
def lanes(qtbot):
    lanes = Lanes(cpu_threads=2)
    yield lanes
    lanes.cancel_all()
    lanes.wait(5000)
    lanes.shutdown()


def _record(job):
    events = []
    job.started.connect(lambda: events.append(("started", threading.current_thread().name)))
    job.progress.connect(lambda ev: events.append(("progress", ev.step)))
    job.succeeded.connect(lambda r: events.append(("succeeded", r)))
    job.failed.connect(lambda e: events.append(("failed", e)))
    job.cancelled.connect(lambda: events.append(("cancelled", None)))
    job.finished.connect(lambda: events.append(("finished", threading.current_thread().name)))
    return events


def _steps(n, *, progress, cancel):
    for i in range(n + 1):
        cancel.check()
        progress("paint", i, n)
    return threading.current_thread().name


def test_success_path_in_order_and_on_the_gui_thread(qtbot, lanes):
    job = Job(_steps, 3)
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        lanes.submit(job)
    kinds = [e[0] for e in events]
    assert kinds[0] == "started" and kinds[-2:] == ["succeeded", "finished"]
    assert set(kinds[1:-2]) <= {"progress"} and kinds.count("progress") >= 2  # first and last always get through
    gui = threading.current_thread().name
    assert events[0][1] == gui and events[-1][1] == gui  # marshalled to the GUI thread
    assert events[-2][1].startswith("mapbrush-cpu")  # ...but the work ran on the pool
    assert job.state == "succeeded"


def test_a_crash_becomes_failed_with_the_exception(qtbot, lanes):
    def boom(req, *, progress, cancel):
        raise ZeroDivisionError("bad maths")

    job = Job(boom)
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        lanes.submit(job)
    assert [e[0] for e in events] == ["started", "failed", "finished"]
    assert isinstance(events[1][1], ZeroDivisionError)
    assert job.error is events[1][1]


def test_app_errors_fail_too(qtbot, lanes):
    def bad(req, *, progress, cancel):
        raise InputError("not a map", path="x.txt")

    job = Job(bad)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        lanes.submit(job)
    assert blocker.args[0].one_line() == "x.txt: not a map"


def test_cancel_path(qtbot, lanes):
    gate = threading.Event()

    def slow(req, *, progress, cancel):
        gate.wait(5)
        cancel.check()
        return "too late"

    job = Job(slow)
    events = _record(job)
    lanes.submit(job)
    qtbot.waitUntil(lambda: job.state == "running", timeout=5000)
    job.cancel()
    gate.set()
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    qtbot.wait(20)
    assert [e[0] for e in events] == ["started", "cancelled", "finished"]


def test_a_result_that_arrives_after_cancel_counts_as_cancelled(qtbot, lanes):
    gate = threading.Event()

    def ignores_cancel(req, *, progress, cancel):
        gate.wait(5)
        return 42

    job = Job(ignores_cancel)
    events = _record(job)
    lanes.submit(job)
    qtbot.waitUntil(lambda: job.state == "running", timeout=5000)
    job.cancel()
    gate.set()
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert [e[0] for e in events] == ["started", "cancelled", "finished"] and job.result is None


def test_a_newer_job_supersedes_the_stale_one(qtbot, lanes):
    def sleepy(tag, *, progress, cancel):
        for _ in range(200):
            cancel.check()
            time.sleep(0.005)
        return tag

    old, new = Job(sleepy, "old"), Job(sleepy, "new")
    old_events, new_events = _record(old), _record(new)
    lanes.submit(old, key="sketch")
    qtbot.waitUntil(lambda: old.state == "running", timeout=5000)
    with qtbot.waitSignal(new.finished, timeout=10000):
        lanes.submit(new, key="sketch")
    qtbot.waitUntil(lambda: old.done, timeout=5000)
    assert ("cancelled", None) in old_events and not any(e[0] == "succeeded" for e in old_events)
    assert ("succeeded", "new") in new_events
    assert lanes.current("sketch") is None


def test_the_gpu_lane_runs_one_job_at_a_time_on_one_thread(qtbot, lanes):
    active, peak, names = [0], [0], set()
    lock = threading.Lock()

    def gpu_work(i, *, progress, cancel):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        names.add(threading.current_thread().name)
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return i

    jobs = [Job(gpu_work, i) for i in range(5)]
    for j in jobs:
        lanes.submit(j, lane="gpu")
    qtbot.waitUntil(lambda: all(j.done for j in jobs), timeout=10000)
    assert peak[0] == 1 and len(names) == 1
    assert [j.result for j in jobs] == list(range(5))


def test_cancel_before_start_still_reports_the_full_lifecycle(qtbot, lanes):
    job = Job(_steps, 2)
    events = _record(job)
    job.cancel()
    with qtbot.waitSignal(job.finished, timeout=5000):
        lanes.submit(job)
    assert [e[0] for e in events] == ["started", "cancelled", "finished"]


class _Emitter(QObject):
    ping = Signal(object)


def test_many_signal_emits_do_not_crash(qtbot):
    """PySide6 6.12.0 on Python 3.11 dies with `Fatal Python error: bool_dealloc` after ~200k emits."""
    src = _Emitter()
    seen = [0]

    def slot(value):
        seen[0] += 1

    src.ping.connect(slot)
    for i in range(300_000):
        src.ping.emit(i % 2 == 0)
    assert seen[0] == 300_000


def test_cancelled_is_an_app_error_but_never_reported_as_failure(qtbot, lanes):
    def raises_cancelled(req, *, progress, cancel):
        raise Cancelled()

    job = Job(raises_cancelled)
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        lanes.submit(job)
    assert [e[0] for e in events] == ["started", "cancelled", "finished"]
