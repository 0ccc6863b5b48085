"""Property-based variations of the roster APIs' query parameters (Hypothesis): any
OneRoster ``filter``/``sort``/``fields`` and any Clever cursor, built from B's identifiers,
B's marker, random text and quoting tricks, asked with A's token for the app connected to
both districts, returns A's records or a 4xx, and never anything of B."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeroom.ids import new_id
from homeroom.roster.query.filter import OPERATORS
from homeroom.roster.query.oneroster import RESOURCES
from tests.isolation.roster_probes import CLEVER, ONEROSTER, OR_NAMED, callers, share_everything
from tests.isolation.world import World

_PREPARED: dict[str, dict[str, str]] = {}  # A's district id -> the shared app's headers
FIELDS = sorted({"sourcedId", "status", "dateLastModified", *OR_NAMED.values(), "role"})


def _headers(world: World) -> dict[str, str]:
    """Share everything once per world, and mint the shared app's token for A once."""
    key = world.a.district.id
    if key not in _PREPARED:
        share_everything(world)
        _PREPARED[key] = dict(callers(world))["shared app"]
    return _PREPARED[key]


# A value is B's identifier number ``i`` (resolved against the world inside the test, so
# that the strategy itself does not depend on the world), a typed id that exists nowhere,
# random text, or quoting and pattern tricks.
VALUES: st.SearchStrategy[int | str] = st.one_of(
    st.integers(min_value=0, max_value=63),
    st.builds(new_id, st.sampled_from(["user", "section", "school", "course", "term"])),
    st.text(max_size=30),
    st.text(alphabet="%_'\"\\*?[]~=<>!", min_size=1, max_size=8),
)


def _resolve(world: World, value: int | str) -> str:
    if isinstance(value, str):
        return value
    b = world.b
    named = [*b.identifiers(), b.district.slug, b.school.sourced_id or b.marker]
    return named[value % len(named)]


def _echoed(world: World, sent: list[str]) -> list[str]:
    """What the caller sent, and B's identifiers inside it (B's refresh token carries B's
    district id): an echo of one's own input reveals nothing."""
    return sent + [v for v in world.b.identifiers() if any(v in s for s in sent)]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_oneroster_query_reaches_only_a(world: World, data: st.DataObject) -> None:
    headers = _headers(world)
    client = world.browser()
    name = data.draw(st.sampled_from(sorted(RESOURCES)), label="collection")
    preds = data.draw(
        st.lists(
            st.tuples(st.sampled_from(FIELDS), st.sampled_from(OPERATORS), VALUES),
            min_size=1,
            max_size=3,
        )
    )
    logic = data.draw(st.sampled_from([" AND ", " OR "]))
    resolved = [(f, op, _resolve(world, v)) for f, op, v in preds]
    text = logic.join(f"{f}{op}'{v.replace(chr(39), chr(39) * 2)}'" for f, op, v in resolved)
    params: dict[str, Any] = {"filter": text, "limit": 10_000}
    if data.draw(st.booleans()):
        params["sort"] = data.draw(st.sampled_from(FIELDS))
        params["orderBy"] = data.draw(st.sampled_from(["asc", "desc"]))
    if data.draw(st.booleans()):
        params["fields"] = data.draw(st.sampled_from(["sourcedId", "sourcedId,status"]))
    everything = client.get(f"{ONEROSTER}/{name}", params={"limit": 10_000}, headers=headers)
    mine = {item["sourcedId"] for item in everything.json()[name]}
    r = client.get(f"{ONEROSTER}/{name}", params=params, headers=headers)
    assert r.status_code in (200, 400, 422), (r.status_code, r.text[:300])
    world.assert_clean(r, sent=_echoed(world, [*(v for _, _, v in resolved), text]))
    if r.status_code == 200:
        found = [item["sourcedId"] for item in r.json()[name]]
        assert set(found) <= mine, (text, set(found) - mine)
        assert int(r.headers["x-total-count"]) == len(found)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_clever_cursor_reaches_only_a(world: World, data: st.DataObject) -> None:
    headers = _headers(world)
    client = world.browser()
    kind = data.draw(
        st.sampled_from(["schools", "sections", "users", "terms", "courses", "events"])
    )
    cursor = data.draw(st.sampled_from(["starting_after", "ending_before"]))
    value = _resolve(world, data.draw(VALUES))
    limit = data.draw(st.integers(min_value=1, max_value=5))
    r = client.get(f"{CLEVER}/{kind}", params={cursor: value, "limit": limit}, headers=headers)
    assert r.status_code in (200, 400, 422), (r.status_code, r.text[:300])
    world.assert_clean(r, sent=_echoed(world, [value]))
    if r.status_code == 200:
        assert len(r.json()["data"]) <= limit
