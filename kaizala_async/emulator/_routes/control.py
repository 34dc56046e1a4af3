"""The test harness's routes under ``/_emulator/``: not the service's, never throttled or delayed."""

from __future__ import annotations

from kaizala_async.emulator._faults import Fault
from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._wire import MOBILE, Answer, bad, ok

__all__ = ["ROUTES"]

routes = RouteSet(kind="control")


@routes.add("stats", "GET", "/_emulator/stats")
async def stats(call: Call) -> Answer:
    return ok(call.app.stats())


@routes.add("calls", "GET", "/_emulator/calls")
async def calls(call: Call) -> Answer:
    try:
        since = float(call.request.query.get("since") or 0.0)
    except ValueError:
        raise bad("since must be epoch seconds") from None
    return ok({"calls": call.app.calls(since=since)})


@routes.add("outbox", "GET", "/_emulator/outbox")
async def outbox(call: Call) -> Answer:
    return ok({"messages": [m.as_json() for m in call.world.outbox]})


@routes.add("faults.add", "POST", "/_emulator/faults")
async def add_fault(call: Call) -> Answer:
    data = call.body()
    try:
        fault = Fault(
            route=str(data.get("route") or "*"),
            latency=float(data.get("latency") or 0.0),
            error_rate=float(data.get("errorrate") or 0.0),
            error_status=int(data.get("errorstatus") or 503),
            reset_rate=float(data.get("resetrate") or 0.0),
            reset_phase="after" if str(data.get("resetphase")).lower() == "after" else "before",
            hang_rate=float(data.get("hangrate") or 0.0),
            times=int(data["times"]) if data.get("times") is not None else None,
        )
    except (TypeError, ValueError) as exc:
        raise bad(f"bad fault: {exc}") from None
    call.app.faults.add(fault)
    return ok({"faults": len(call.app.faults.faults)})


@routes.add("faults.clear", "DELETE", "/_emulator/faults")
async def clear_faults(call: Call) -> Answer:
    call.app.faults.clear()
    return ok({"faults": 0})


@routes.add("faults.list", "GET", "/_emulator/faults")
async def list_faults(call: Call) -> Answer:
    plan = call.app.faults
    return ok({"injected": dict(plan.injected), "faults": len(plan.faults)})


@routes.add("groups.seed", "POST", "/_emulator/groups")
async def seed_groups(call: Call) -> Answer:
    data = call.body()
    count = data.get("count")
    mobile = str(data.get("mobilenumber") or "")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 100_000:
        raise bad("count must be a whole number from 1 to 100000")
    if not MOBILE.match(mobile):
        raise bad("mobileNumber must be an E.164 number")
    tenant = str(data.get("tenant") or "contoso")
    return ok({"groupIds": call.app.seed_groups(count, mobile, tenant)})


@routes.add("move", "POST", "/_emulator/move")
async def move(call: Call) -> Answer:
    after = call.body().get("after")
    if after is None:
        return ok({"endpointUrl": call.app.move_endpoint()})
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise bad("after must be a non-negative whole number of calls")
    return ok({"endpointUrl": call.app.move_endpoint(after), "movesAfter": after})


ROUTES = routes.routes
