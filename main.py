"""The gateway: the app factory and the command line (serve, worker, migrate, demo)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from core import listening
from core.config import Settings, load_settings, use_settings
from core.logs import configure_logging, log_config
from core.process import settle_memory
from core.ratelimit import Limits
from models import db
from resolvers import dispatch, live
from schema.http_metrics import HTTPMetrics, metrics_endpoint
from schema.request_ids import RequestIdMiddleware
from schema.schema import build_schema
from schema.view import GraphQLView

log = logging.getLogger("gateway")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    use_settings(settings)
    from checkout.routes import checkout_routes
    from reports.routes import report_routes
    from schema.context import authenticate
    from tasks.limit_store import create_limit_store
    from tasks.queue import create_queue

    limits = Limits.of(settings, create_limit_store(settings))
    graphql = GraphQLView(build_schema(introspection=settings.graphiql),
                          graphiql=settings.graphiql, limits=limits)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect(settings.database_url)
        app.state.queue = await create_queue(settings)
        await live.start(settings.redis_url, settings.queue_name,  # CONTRACT §15
                         settings.live_poll_seconds)
        try:
            yield
        finally:
            await live.stop()
            await dispatch.settle()
            await app.state.queue.close()
            await limits.store.close()
            await db.disconnect()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": await db.ping(), **await request.app.state.queue.ping()}
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                            status_code=200 if ready else 503)

    app = Starlette(routes=[
        Route("/graphql", graphql),  # every method: the view answers coded JSON (§12.6)
        WebSocketRoute("/graphql", graphql),  # graphql-transport-ws (CONTRACT §15)
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Mount("/checkout", routes=checkout_routes()),
        Mount("/reports", routes=report_routes(authenticate, graphql.rate_verdict)),  # CONTRACT §13
        *graphiql_mounts(settings),
    ], lifespan=lifespan)
    app.state.graphql = graphql
    app.state.limits = limits
    app.state.settings = settings
    app.add_middleware(RequestIdMiddleware)  # X-Request-ID and the access log (CONTRACT §16)
    if settings.metrics:  # CONTRACT §16
        app.router.routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    app.add_middleware(HTTPMetrics)
    return app


def graphiql_mounts(settings: Settings) -> list[Mount]:
    """GraphiQL's own assets (CONTRACT §16: no CDN), only while GraphiQL is on."""
    from schema.graphiql import ASSETS_PATH, graphiql_assets

    return [Mount(ASSETS_PATH, app=graphiql_assets())] if settings.graphiql else []


def app_factory() -> Starlette:
    """For uvicorn's --factory (each worker process builds its own app)."""
    app = create_app()
    settle_memory()
    return app


def prepare_metrics_directory(settings: Settings, workers: int) -> None:
    """Several processes serving: prometheus-client's multiprocess mode, each process writing
    its numbers under one directory that /metrics sums. Emptied first (the numbers of earlier
    runs' processes would be summed too), and set before uvicorn starts its processes."""
    if workers <= 1:
        return
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.data_dir / "metrics")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # prometheus-client's files, and nothing else
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())


def serve(settings: Settings) -> None:
    import uvicorn

    asyncio.run(db.migrate(settings.database_url))
    workers = settings.workers if settings.redis_url else 1
    prepare_metrics_directory(settings, workers)
    print(f"Gateway on {settings.public_base_url}  (GraphiQL: {settings.public_base_url}/graphql)",
          flush=True)
    if not settings.redis_url:
        print(f"Embedded mode: SQLite under {settings.data_dir}, tasks run in this process",
              flush=True)
    config = uvicorn.Config(
        "main:app_factory", factory=True, host=settings.host, port=settings.port,
        workers=workers, log_level=settings.log_level, access_log=False,
        # Each worker process logs as this one does (gateway.access logs requests).
        log_config=log_config(settings.log_level, settings.log_format),
        # The client address is core.proxies.client_ip's to decide (FORWARDED_ALLOW_IPS):
        # uvicorn must not rewrite it from headers, even from loopback.
        proxy_headers=False,
        # WebSocket (CONTRACT §15): no per-message deflate, whose zlib state costs some
        # 300 KB a connection for messages of a few hundred bytes.
        ws_per_message_deflate=False,
        # A WebSocket message is held to the size of an HTTP body (CONTRACT §12.6).
        ws_max_size=settings.max_body_bytes)
    if workers > 1 and listening.supported():
        # A listening socket per process, the kernel spreading connections among them
        # (core/listening.py); uvicorn's supervisor starts and restarts the processes.
        from uvicorn.supervisors import Multiprocess

        try:
            sock = listening.shared_port_socket(settings.host, settings.port)
        except OSError as error:  # the port taken, say: as uvicorn answers it, exit code 3
            logging.getLogger("uvicorn.error").error(error)
            sys.exit(3)
        host = f"[{settings.host}]" if ":" in settings.host else settings.host  # IPv6
        logging.getLogger("uvicorn.error").info(  # as uvicorn says it when it binds
            "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, settings.port)
        Multiprocess(config, sockets=[sock]).run()
    else:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:  # the port taken, say: uvicorn logged why
            sys.exit(3)


def worker(settings: Settings, processes: int = 1) -> None:
    """One arq worker in this process, or `processes` of them under tasks/supervisor.py."""
    from tasks.worker import run_worker

    if not settings.redis_url:
        sys.exit("The worker needs REDIS_URL; without it the API runs tasks in-process.")
    asyncio.run(db.migrate(settings.database_url))
    if processes > 1:
        from tasks.supervisor import supervise

        sys.exit(supervise(processes))
    run_worker(settings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="main.py", description="The payment gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API (GraphQL, checkout, health)")
    worker_command = commands.add_parser("worker", help="run an arq worker (needs REDIS_URL)")
    worker_command.add_argument("--processes", type=int, default=1, metavar="N",
                                help="supervise N worker processes, restarting any that dies")
    commands.add_parser("migrate", help="apply database migrations")
    demo = commands.add_parser("demo", help="run the quick start against a running gateway")
    demo.add_argument("--url", default=None, help="the gateway's base URL")
    add_live_commands(commands)
    args = parser.parse_args(argv)
    settings = load_settings()
    use_settings(settings)
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "serve":
        serve(settings)
    elif args.command == "worker":
        worker(settings, max(1, args.processes))
    elif args.command == "migrate":
        asyncio.run(db.migrate(settings.database_url))
        print("Migrations applied")
    elif args.command == "demo":
        from checkout.demo import run_demo
        sys.exit(run_demo(args.url or settings.public_base_url))
    elif args.command in ("listen", "trigger"):
        sys.exit(run_live_command(args))


def add_live_commands(commands: Any) -> None:
    """`listen` and `trigger` (CONTRACT §15): developing against webhooks without a tunnel."""
    url = {"default": os.environ.get("GATEWAY_URL"), "help": "the gateway's base URL "
           "(or GATEWAY_URL)"}
    key = {"default": os.environ.get("GATEWAY_API_KEY"), "help": "a merchant's API key "
           "(or GATEWAY_API_KEY)"}
    listen = commands.add_parser("listen", help="forward the merchant's events, signed, to a "
                                                "local URL")
    listen.add_argument("--url", **url)
    listen.add_argument("--api-key", **key)
    listen.add_argument("--forward-to", required=True, metavar="LOCAL_URL",
                        help="where to POST each event, as a webhook")
    listen.add_argument("--events", default="", metavar="a,b",
                        help="only these event types (default: all)")
    trigger = commands.add_parser("trigger", help="make the gateway emit an event of a type")
    trigger.add_argument("type", help="e.g. payment_intent.captured")
    trigger.add_argument("--url", **url)
    trigger.add_argument("--api-key", **key)


def run_live_command(args: argparse.Namespace) -> int:
    if not args.url or not args.api_key:
        print(f"{args.command}: pass --url and --api-key (or set GATEWAY_URL and "
              "GATEWAY_API_KEY)", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per event, no noise
    if args.command == "listen":
        from client.listen import run_listen

        types = [part.strip() for part in args.events.split(",") if part.strip()]
        return run_listen(args.url, args.api_key, args.forward_to, types)
    from client.trigger import run_trigger

    return run_trigger(args.url, args.api_key, args.type)


if __name__ == "__main__":
    main()
