from luisterpost.stall import StallDetector


def test_a_partition_that_keeps_committing_is_never_stalled() -> None:
    detector = StallDetector(after_seconds=30)
    assert not any(detector.observe("tp", c, 1000, now=c, busy=False) for c in range(0, 600, 10))


def test_no_backlog_is_never_stalled() -> None:
    detector = StallDetector(after_seconds=30)
    assert not any(detector.observe("tp", 500, 500, now=t, busy=False) for t in range(0, 300, 5))


def test_backlog_without_progress_is_stalled_once_per_period() -> None:
    detector = StallDetector(after_seconds=30)
    decisions = [detector.observe("tp", 100, 700, now=t, busy=False) for t in range(0, 100, 5)]
    assert [t for t, d in zip(range(0, 100, 5), decisions, strict=True) if d] == [30, 60, 90]


def test_busy_stage_is_left_alone() -> None:
    detector = StallDetector(after_seconds=30)
    assert not any(detector.observe("tp", 100, 700, now=t, busy=True) for t in range(0, 300, 5))
    # and the clock restarts once the stage is idle again
    assert not detector.observe("tp", 100, 700, now=300, busy=False)
    assert detector.observe("tp", 100, 700, now=330, busy=False)


def test_partitions_are_tracked_separately() -> None:
    detector = StallDetector(after_seconds=10)
    detector.observe("a", 1, 5, now=0, busy=False)
    detector.observe("b", 1, 5, now=0, busy=False)
    assert detector.observe("a", 1, 5, now=10, busy=False)
    assert not detector.observe("b", 2, 5, now=10, busy=False)
