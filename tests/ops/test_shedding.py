"""The in-flight cap: excess requests get 503 + Retry-After before the app runs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from homeroom.ops.shedding import InFlightLimiter


class _Gate:
    """An ASGI app whose requests wait until released; counts how many ever started."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started += 1
        if scope["path"] != "/healthz":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _shed_count() -> float:
    return REGISTRY.get_sample_value("homeroom_shed_requests_total", {"reason": "in_flight"}) or 0


def test_requests_past_the_cap_are_shed_before_any_work() -> None:
    async def scenario() -> None:
        gate = _Gate()
        app = InFlightLimiter(gate, max_in_flight=2, retry_after_s=3)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = [asyncio.create_task(client.get("/work")) for _ in range(2)]
            while gate.started < 2:
                await asyncio.sleep(0)
            before = _shed_count()
            shed = await client.get("/work")
            assert shed.status_code == 503
            assert shed.headers["retry-after"] == "3"
            assert shed.json()["error"] == "temporarily_unavailable"
            assert gate.started == 2  # the shed request never reached the app
            assert _shed_count() == before + 1
            health = await client.get("/healthz")  # exempt even at the cap
            assert health.status_code == 200
            gate.release.set()
            assert [r.status_code for r in await asyncio.gather(*first)] == [200, 200]
            assert app.in_flight == 0
            assert (await client.get("/work")).status_code == 200  # capacity is back

    asyncio.run(scenario())


def test_the_cap_is_released_when_the_app_fails() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        app = InFlightLimiter(failing, max_in_flight=1)
        with pytest.raises(RuntimeError):
            await app({"type": "http", "path": "/x"}, _never, _drop)
        assert app.in_flight == 0

    async def _never() -> dict[str, object]:
        raise AssertionError("not called")

    async def _drop(message: object) -> None:
        return None

    asyncio.run(scenario())


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        InFlightLimiter(_Gate(), max_in_flight=0)
