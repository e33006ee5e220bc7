"""``fake-leaf serve`` (the fake over HTTP), ``fake-leaf openapi`` (its OpenAPI document) and ``fake-leaf demo``."""

from __future__ import annotations

import argparse
import json
import sys

import requests

from fake_leaf import FakeLeaf


def _show(label: str, r: requests.Response) -> None:
    body = json.dumps(r.json(), indent=2) if r.content else "(empty body)"
    print(f"{label}\n  -> {r.status_code}\n{body}\n")


def demo() -> int:
    with FakeLeaf() as leaf:
        um = leaf.user_management_url
        login = requests.post(f"{leaf.base_url}/api/authenticate",
                              json={"username": leaf.username, "password": leaf.password, "rememberMe": "true"})
        _show(f"POST {leaf.base_url}/api/authenticate", login)
        headers = {"Authorization": f"Bearer {login.json()['id_token']}"}
        user = requests.post(f"{um}/users", json={"name": "Ada Grower", "email": "ada@farm.test"}, headers=headers)
        _show(f"POST {um}/users", user)
        creds_url = f"{um}/users/{user.json()['id']}/john-deere-credentials"
        body = {"clientKey": "my-client-key", "clientSecret": "my-secret", "refreshToken": "my-refresh-token"}
        _show(f"POST {creds_url}", requests.post(creds_url, json=body, headers=headers))
        _show(f"POST {creds_url} (again)", requests.post(creds_url, json=body, headers=headers))
        _show(f"GET {creds_url}/events", requests.get(f"{creds_url}/events", headers=headers))
        _show(f"DELETE {creds_url}", requests.delete(creds_url, headers=headers))
        _show(f"GET {creds_url}", requests.get(creds_url, headers=headers))
    return 0


def serve(host: str, port: int, quiet: bool, rate_limit_per_minute: int | None = None) -> int:
    from fake_leaf import RateLimit, ShiftedClock

    rate_limit = RateLimit(rate_limit_per_minute) if rate_limit_per_minute is not None else None
    leaf = FakeLeaf(clock=ShiftedClock(), rate_limit=rate_limit)
    server = leaf.server(host, port, quiet=quiet)
    token = leaf.token
    print(f"fake-leaf serving the Leaf API at {server.url}\n"
          f"  login:  POST {server.url}/api/authenticate "
          f'{{"username": "{leaf.username}", "password": "{leaf.password}"}}\n'
          f"  token:  {token}\n"
          f"  try:    curl -H 'Authorization: Bearer {token}' {server.user_management_url}/users\n"
          f"  openapi: {server.url}/_fake-leaf/openapi.json   control plane: {server.url}/_fake-leaf/...\n"
          f"Press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def openapi(server_url: str) -> int:
    from fake_leaf.engine import PROVIDERS
    from fake_leaf.http._openapi import openapi_document
    from fake_leaf.http._routes import build_routes

    print(json.dumps(openapi_document(build_routes(), list(PROVIDERS), server_url), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake-leaf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve the fake over HTTP until interrupted")
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    serve_parser.add_argument("--quiet", action="store_true", help="no log line per request")
    serve_parser.add_argument("--rate-limit-per-minute", type=int, default=None, metavar="N",
                              help="turn on Leaf's rate limit: N requests a minute per API owner (Leaf's is 1000)")
    openapi_parser = commands.add_parser("openapi", help="print the OpenAPI 3 document of what the fake serves")
    openapi_parser.add_argument("--server-url", default="http://127.0.0.1:8080",
                                help="the URL written in the document's servers (default http://127.0.0.1:8080)")
    commands.add_parser("demo", help="run a short scenario against an in-process fake and print it")
    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.rate_limit_per_minute is not None and args.rate_limit_per_minute < 1:
            parser.error(f"--rate-limit-per-minute must be 1 or more, got {args.rate_limit_per_minute}")
        return serve(args.host, args.port, args.quiet, args.rate_limit_per_minute)
    if args.command == "openapi":
        return openapi(args.server_url)
    return demo()


if __name__ == "__main__":
    sys.exit(main())
