import threading

import pytest

from app.errors import Cancelled
from app.jobs.cancel import CancelToken
from app.jobs.progress import Progress


def test_throttle_keeps_edges_and_limits_rate():
    now = [0.0]
    seen = []
    p = Progress(seen.append, hz=10, clock=lambda: now[0])
    for i in range(101):
        now[0] = i * 0.001  # 101 steps within 0.1 s
        p("paint", i, 100)
    steps = [e.step for e in seen]
    assert steps[0] == 0 and steps[-1] == 100
    assert len(steps) <= 3


def test_progress_without_sink_is_silent():
    Progress()("read", 1, 2)


def test_cancel_token_from_another_thread():
    tok = CancelToken()
    tok.check()
    t = threading.Thread(target=tok.cancel)
    t.start()
    t.join()
    assert tok.cancelled
    with pytest.raises(Cancelled):
        tok.check()
