"""``python -m kaizala_async.emulator``: the emulator as a loopback HTTP server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys

from kaizala_async._loopback import loopback_config
from kaizala_async._ratelimit import Rate

from . import THROTTLE_METHODS, Emulator, EmulatorConfig, Fault, NetworkProfile


def _rate(text: str) -> Rate:
    try:
        limit, _, period = text.partition("/")
        return Rate(int(limit), float(period or 60.0))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LIMIT/SECONDS such as 100/60, not {text!r}"
        ) from None


def _network(text: str) -> NetworkProfile:
    try:
        return NetworkProfile.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None, prog: str = "python -m kaizala_async.emulator") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Run the Kaizala emulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--throttle", choices=THROTTLE_METHODS, default="sliding-log")
    parser.add_argument(
        "--connector-limit", type=_rate, default=Rate(100, 60.0), metavar="N/SECONDS"
    )
    parser.add_argument("--tenant-limit", type=_rate, default=Rate(300, 60.0), metavar="N/SECONDS")
    parser.add_argument(
        "--token-ttl", type=float, default=86_400.0, help="access token lifetime, seconds"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of calls answered 503")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--network",
        type=_network,
        default=None,
        metavar="PROFILE",
        help="per-call delays each way: fixed:S, uniform:LOW-HIGH or spikes:BASE,RATE,LOW-HIGH",
    )
    parser.add_argument(
        "--connectors", type=int, default=1, help="connectors to create in tenant 'contoso'"
    )
    args = parser.parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        print(
            "the loopback emulator needs uvicorn: pip install '.[emulator]' (from a checkout of kaizala-async)",
            file=sys.stderr,
        )
        return 2
    emu = Emulator(
        EmulatorConfig(
            connector_limit=args.connector_limit,
            tenant_limit=args.tenant_limit,
            throttle=args.throttle,
            access_token_ttl=args.token_ttl,
            seed=args.seed,
            network=args.network,
        )
    )
    if args.fault_rate:
        emu.inject(Fault(error_rate=args.fault_rate))
    config = loopback_config(  # injected resets are real TCP resets
        emu.app,
        host=args.host,
        port=args.port,
        log_level="warning",
        # An injected hang never answers: without a bound, stopping would wait for it for ever.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn has no event)
            await asyncio.sleep(0.01)
        if serving.done():
            await serving
            return
        port = server.servers[0].sockets[0].getsockname()[1]
        emu.serve_at(f"http://{args.host}:{port}")
        for _ in range(args.connectors):
            conn = emu.create_connector("contoso")
            refresh = emu.issue_refresh_token(conn, "+911234567890")
            credentials = {
                "applicationId": conn.application_id,
                "applicationSecret": conn.application_secret,
                "refreshToken": refresh,
            }
            print(json.dumps(credentials), flush=True)
        print(f"Kaizala emulator API root: {emu.api_root}", flush=True)
        try:
            await serving
        finally:
            await emu.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
