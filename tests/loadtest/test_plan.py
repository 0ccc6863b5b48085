"""Arrival schedules: the open model's promise is *when* each flow is due."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from homeroom.errors import InvalidInput
from homeroom.loadtest.plan import (
    Phase,
    Plan,
    RateCurve,
    ScenarioMix,
    back_to_school,
    constant,
)


def test_constant_rate_is_evenly_spaced_and_exact_in_count() -> None:
    times = list(constant(100, 3).arrivals())
    assert len(times) == 300
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {0.01}
    assert times[0] == pytest.approx(0.005) and times[-1] == pytest.approx(2.995)


def test_linear_ramp_follows_the_cumulative_rate() -> None:
    curve = RateCurve((Phase("ramp", 10, 0, 100),))  # Λ(t) = 5 t²
    times = list(curve.arrivals())
    assert len(times) == 500
    for k in (0, 49, 199, 499):
        assert 5 * times[k] ** 2 == pytest.approx(k + 0.5, rel=1e-9)
    first_half = sum(1 for t in times if t < 5)
    assert first_half == 125  # a quarter of the flows in the first half of a linear ramp


def test_back_to_school_ramps_peaks_and_tails() -> None:
    curve = back_to_school(200, 100)
    assert [p.name for p in curve.phases] == ["ramp", "peak", "tail"]
    assert curve.duration == pytest.approx(100)
    times = list(curve.arrivals())
    assert len(times) == round(curve.expected())
    per_second = [0] * 100
    for t in times:
        per_second[int(t)] += 1
    assert per_second[0] < 40 and per_second[50] == 200 and per_second[99] < 60
    assert curve.phase_at(10) == "ramp" and curve.phase_at(50) == "peak"
    assert curve.rate_at(1000) == 0


def test_processes_split_the_schedule_without_overlap() -> None:
    plan = Plan(
        url="http://127.0.0.1:1",
        mix={"health": 1},
        model="open",
        phases=constant(50, 2).phases,
        start_at=1000.0,
        processes=3,
    )
    shares = [list(plan.arrivals_for(i)) for i in range(3)]
    ks = sorted(k for share in shares for k, _ in share)
    assert ks == list(range(100))
    assert all(t >= 1000.0 for share in shares for _, t in share)
    again = Plan.from_json(plan.to_json())
    assert again == plan


def test_mix_parsing_and_weights() -> None:
    mix = ScenarioMix.parse("instant_login=3, refresh=1")
    assert dict(mix.weights) == {"instant_login": 3.0, "refresh": 1.0}
    picks = list(itertools.islice(mix.chooser(7), 4000))
    assert 2800 < picks.count("instant_login") < 3200
    assert picks == list(itertools.islice(mix.chooser(7), 4000))  # seeded: repeatable
    assert dict(ScenarioMix.parse("client-credentials").weights) == {"client_credentials": 1.0}
    with pytest.raises(InvalidInput, match="unknown scenario"):
        ScenarioMix.parse("teleport")
    with pytest.raises(InvalidInput, match="not a number"):
        ScenarioMix.parse("health=lots")
    with pytest.raises(InvalidInput, match="zero"):
        ScenarioMix.parse("health=0")


def test_bad_curves_and_models_are_rejected() -> None:
    with pytest.raises(InvalidInput):
        RateCurve((Phase("x", 0, 1, 1),))
    with pytest.raises(InvalidInput):
        RateCurve(())
    with pytest.raises(InvalidInput, match="model"):
        Plan("http://x", {"health": 1}, "half-open", constant(1, 1).phases, 0.0)


def test_badge_login_needs_badges_and_the_morning_leaves_it_out_without_them() -> None:
    from homeroom.loadtest.plan import BACK_TO_SCHOOL_MIX
    from homeroom.loadtest.runner import build_plan

    def plan(scenario: str | None, seed: dict[str, object]) -> Plan:
        return build_plan(
            url="http://127.0.0.1:9",
            scenario=scenario,
            profile="back-to-school" if scenario is None else None,
            rate=10,
            duration=10,
            seed_file=seed,
        )

    homeroom = {"client_id": "app_x", "badges": ["http://h/d/lt/badge#hrb1.x"]}
    other = {"client_id": "loadtest"}  # oidc-provider's seed: no badges
    assert plan(None, homeroom).mix == BACK_TO_SCHOOL_MIX
    assert plan(None, other).mix == {
        k: v for k, v in BACK_TO_SCHOOL_MIX.items() if k != "badge_login"
    }
    assert plan("badge_login", homeroom).mix == {"badge_login": 1.0}
    with pytest.raises(InvalidInput, match="badge_login needs badges in the seed file"):
        plan("badge_login=5,instant_login=5", other)


def test_settling_runs_at_the_opening_rate_before_the_window() -> None:
    plan = Plan(
        url="http://127.0.0.1:1",
        mix={"health": 1},
        model="open",
        phases=back_to_school(100, 60).phases,  # opens at a tenth of the peak
        start_at=1000.0,
        processes=2,
        settle_s=3.0,
    )
    shares = [list(plan.settle_arrivals_for(i)) for i in range(2)]
    assert sorted(k for share in shares for k, _ in share) == list(range(30))  # 10/s for 3 s
    dues = sorted(t for share in shares for _, t in share)
    assert 997.0 <= dues[0] < 997.1 and dues[-1] < 1000.0
    assert all(b - a == pytest.approx(0.1) for a, b in itertools.pairwise(dues))
    assert min(t for _, t in plan.arrivals_for(0)) >= 1000.0  # the window is unchanged
    assert Plan.from_json(plan.to_json()) == plan
    assert list(replace(plan, settle_s=0.0).settle_arrivals_for(0)) == []
    with pytest.raises(InvalidInput, match="settling"):
        Plan("http://x", {"health": 1}, "closed", constant(1, 1).phases, 0.0, settle_s=2.0)
    with pytest.raises(InvalidInput, match="settling"):
        replace(plan, settle_s=-1.0)
