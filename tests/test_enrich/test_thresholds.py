"""enrich.thresholds.choose_thresholds: the largest threshold that reaches the recall target,
on all rows and on each group of weakest rows, without going under the precision floor (one
standard error below the measured precision; for ``spoed`` the recall target too); where the
target is out of reach, the largest threshold that finds as many as the lowest allowed one."""

from enrich.thresholds import choose_thresholds


def _row(base: str, gold: str, spoed: float, hoog: float) -> tuple[str, dict[str, float], str]:
    return base, {"spoed": spoed, "hoog": hoog, "normaal": 1 - spoed - hoog, "laag": 0.0}, gold


ROWS = (
    [_row("spoed", "spoed", 0.9, 0.05)] * 4  # the model already says spoed
    + [_row("normaal", "hoog", 0.0, 0.45)] * 6  # plain hoog: scored high
    + [_row("normaal", "hoog", 0.0, 0.12)] * 4  # the hard style: scored low (indices 10-13)
    + [_row("normaal", "normaal", 0.0, 0.03)] * 10
)
WEAK = list(range(10, 14))


def _choose(rows: list[tuple[str, dict[str, float], str]], **kwargs: object) -> dict[str, float]:
    base, scores, gold = (list(column) for column in zip(*rows, strict=True))
    return choose_thresholds(base, scores, gold, targets=(0.95, 0.6), **kwargs)  # type: ignore[arg-type]


def test_the_largest_threshold_that_reaches_the_target_on_all_rows() -> None:
    # 0.45 flags the 4 spoed and 6 plain hoog: 10 of 14 urgent >= 0.6; spoed needs no lowering
    assert _choose(ROWS) == {"spoed": 0.5, "at_least_hoog": 0.45}


def test_the_recall_must_also_hold_on_the_weakest_rows() -> None:
    # at 0.45 none of the hard-style hoog is flagged; 0.12 is the largest that flags them
    assert _choose(ROWS, weakest=[WEAK]) == {"spoed": 0.5, "at_least_hoog": 0.12}


def test_the_recall_must_hold_on_every_group_of_weakest_rows() -> None:
    # one group of plain hoog (reached at 0.45) and one of the hard style: the hard one decides,
    # whichever order the groups come in
    plain = list(range(4, 10))
    assert _choose(ROWS, weakest=[plain, WEAK]) == {"spoed": 0.5, "at_least_hoog": 0.12}
    assert _choose(ROWS, weakest=[WEAK, plain]) == {"spoed": 0.5, "at_least_hoog": 0.12}
    assert _choose(ROWS, weakest=[plain]) == {"spoed": 0.5, "at_least_hoog": 0.45}


def test_an_unreachable_recall_takes_the_largest_threshold_that_finds_as_many() -> None:
    # 30 normaal messages scored like the hard style: flagging them drops precision under 0.45,
    # so the search stops above 0.12; from 0.45 down to 0.13 nothing more is found, so 0.45
    noisy = ROWS + [_row("normaal", "normaal", 0.0, 0.12)] * 30
    assert _choose(noisy, weakest=[WEAK]) == {"spoed": 0.5, "at_least_hoog": 0.45}


def test_an_unreachable_recall_still_takes_the_last_step_that_finds_more() -> None:
    # one more hard-style hoog at 0.3: found at 0.3 and no lower step finds more, so 0.3
    rows = ROWS + [_row("normaal", "hoog", 0.0, 0.3)] + [_row("normaal", "normaal", 0.0, 0.12)] * 30
    assert _choose(rows, weakest=[[*WEAK, len(ROWS)]]) == {"spoed": 0.5, "at_least_hoog": 0.3}


def test_the_precision_floor_keeps_a_margin_of_one_standard_error() -> None:
    # 10 flags at 0.45 (all urgent); at 0.2 a group of 8 is flagged, 4 of them urgent: 0.5
    # measured, above the 0.45 floor, but one standard error below it is 0.33, so the search
    # stops at 0.21 and takes 0.45, the largest that finds as many
    small = list(range(len(ROWS), len(ROWS) + 8))
    rows = (
        ROWS + [_row("normaal", "hoog", 0.0, 0.2)] * 4 + [_row("normaal", "normaal", 0.0, 0.2)] * 4
    )
    assert _choose(rows, weakest=[small]) == {"spoed": 0.5, "at_least_hoog": 0.45}
    # the same share over 400 flags is measured well enough: 0.5 less 0.025 keeps the floor
    large = list(range(len(ROWS), len(ROWS) + 400))
    rows = (
        ROWS
        + [_row("normaal", "hoog", 0.0, 0.2)] * 200
        + [_row("normaal", "normaal", 0.0, 0.2)] * 200
    )
    assert _choose(rows, weakest=[large]) == {"spoed": 0.5, "at_least_hoog": 0.2}


def test_the_precision_floor_must_also_hold_on_every_group_of_weakest_rows() -> None:
    # a group of 2 hard-style hoog and 6 normaal, all scored 0.2: at 0.2 the group's recall is
    # met and precision over all rows is 12/18, but the group's own precision is 2/8, under
    # 0.45, so the search stops at 0.21 and takes 0.45, which finds as many (a floor over all
    # rows alone would take 0.2)
    group = list(range(len(ROWS), len(ROWS) + 8))
    mixed = (
        ROWS + [_row("normaal", "hoog", 0.0, 0.2)] * 2 + [_row("normaal", "normaal", 0.0, 0.2)] * 6
    )
    assert _choose(mixed) == {"spoed": 0.5, "at_least_hoog": 0.45}  # 10 of 16 urgent at 0.45
    assert _choose(mixed, weakest=[group]) == {"spoed": 0.5, "at_least_hoog": 0.45}


def test_the_spoed_recall_target_keeps_a_margin_of_one_standard_error() -> None:
    # 40 spoed, 38 of them already spoed: 0.95 measured, the target met on the rate alone; one
    # standard error below, 0.92 is not, so the search goes on to 0.3, which finds the other two
    # (40 of 40: 0.976 one standard error low) and flags nothing else
    rows = (
        [_row("spoed", "spoed", 0.9, 0.05)] * 38
        + [_row("hoog", "spoed", 0.3, 0.6)] * 2
        + [_row("hoog", "hoog", 0.1, 0.8)] * 20
        + [_row("normaal", "normaal", 0.0, 0.03)] * 20
    )
    assert _choose(rows)["spoed"] == 0.3
    # hoog+spoed's target keeps none (its 0.95 is a margin already): all 60 are found at 0.5
    assert _choose(rows)["at_least_hoog"] == 0.5
