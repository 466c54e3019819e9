"""The report model: time formatting, table layout, summaries, transition counts."""

from __future__ import annotations

import json

import pytest

from autoplay_cli.simulate.report import Report, Step, clock_text, format_table, iso_utc

T, P = "thinking", "proactive_assistance"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (5, "0:05"),
        (65.25, "1:05.2"),
        (59.96, "1:00"),
        (3725, "1:02:05"),
        (2 * 86400 + 5, "2d 00:00:05"),
        (1e308, "1.16e+303 d"),  # a huge cooldown stays a short cell
        (float("inf"), "∞"),
    ],
)
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


def test_iso_utc_and_times_past_what_a_date_holds() -> None:
    assert iso_utc(1767225600.0) == "2026-01-01T00:00:00Z"
    # A huge --interaction-timeout puts the last timeouts there: null, not a crash.
    assert iso_utc(1e15) is None
    step = Step(1, 1e15, "s", "timeout", "timeout", "reactive_assistance", "thinking")
    assert step.to_json(0.0)["at"] is None


def test_format_table_pads_all_but_the_last_column() -> None:
    lines = format_table(("a", "bb", "c"), [("xxx", "y", "long text"), ("", "", "")])
    assert lines == ["a    bb  c", "xxx  y   long text", ""]


def test_format_table_with_a_width_puts_a_long_last_cell_below_its_row() -> None:
    rows = [("a", "short"), ("b", "a rather long detail that cannot fit in twenty columns")]
    lines = format_table(("k", "details"), rows, width=20)  # type: ignore[arg-type]
    assert lines[:2] == ["k  details", "a  short"]
    assert lines[2] == "b"
    assert all(line.startswith("    ") and len(line) <= 20 for line in lines[3:])
    assert " ".join(" ".join(lines[3:]).split()) == rows[1][1]


def test_summary_folds_steps_per_session() -> None:
    report = Report(start=100.0)
    report.add(Step(0, 100.0, "s", "actions", "offer", T, P, "t", actions=3))
    report.add(
        Step(
            0,
            105.0,
            "s",
            "actions",
            "blocked",
            P,
            P,
            "t",
            reason="v2_state_proactive_assistance",
            actions=1,
        )
    )
    report.add(Step(0, 120.0, "s", "timeout", "timeout", P, T))
    report.end = 120.0
    assert [s.seq for s in report.steps] == [1, 2, 3]
    overall = report.overall()
    assert (overall["offers"], overall["action_events"], overall["batches"]) == (1, 4, 2)
    assert overall["blocked"] == {"v2_state_proactive_assistance": 1}
    assert overall["time_in_state_s"] == {T: 0.0, P: 20.0, "reactive_assistance": 0.0}
    assert report.transitions() == {(T, P): 1, (P, T): 1}
    assert json.loads(json.dumps(report.summary_json()))["sessions"][0]["final_state"] == T


def test_without_kept_steps_the_summary_still_counts() -> None:
    report = Report(start=0.0, keep_steps=False)
    report.add(Step(0, 1.0, "s", "actions", "offer", T, P, "t", actions=2))
    assert report.steps == [] and report.step_count == 1
    assert report.sessions["s"].offers == 1
