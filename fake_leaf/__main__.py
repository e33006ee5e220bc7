"""The fake-leaf command: serve the fake over HTTP, print its OpenAPI document, or run a demo."""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence

import requests

import fake_leaf
from fake_leaf import FakeLeaf

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# the conventional statuses of a process ended by SIGPIPE and by SIGINT (128 + the signal's number)
EXIT_CLOSED_PIPE = 141
EXIT_INTERRUPTED = 130


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
        body = {"clientKey": "my-client-key", "clientSecret": "my-secret", "refreshToken": "my-refresh-token",
                "clientEnvironment": "STAGE"}
        _show(f"POST {creds_url}", requests.post(creds_url, json=body, headers=headers))
        _show(f"POST {creds_url} (again)", requests.post(creds_url, json=body, headers=headers))
        _show(f"GET {creds_url}/events", requests.get(f"{creds_url}/events", headers=headers))
        _show(f"DELETE {creds_url}", requests.delete(creds_url, headers=headers))
        _show(f"GET {creds_url}", requests.get(creds_url, headers=headers))
    return 0


def serve(host: str, port: int, quiet: bool, rate_limit_per_minute: int | None = None,
          control_token: str | None = None, request_timeout: float = 10.0, max_connections: int = 64,
          api_owners: Sequence[tuple[str, str]] = (), ready_json: bool = False, ready_file: str | None = None,
          webhook_allow: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT (Ctrl+C), in the foreground or the background; either stops it within 2 s."""
    from fake_leaf import RateLimit, ShiftedClock
    from fake_leaf.adapters._wsgi import CONTROL_TOKEN_HEADER

    rate_limit = RateLimit(rate_limit_per_minute) if rate_limit_per_minute is not None else None
    if api_owners:
        leaf = FakeLeaf(clock=ShiftedClock(), rate_limit=rate_limit, username=api_owners[0][0],
                        password=api_owners[0][1])
    else:
        leaf = FakeLeaf(clock=ShiftedClock(), rate_limit=rate_limit)
    owners = [{"username": leaf.username, "token": leaf.token}]
    for username, password in api_owners[1:]:
        owners.append({"username": username, "token": leaf.add_api_owner(username, password)})
    try:
        server = leaf.server(host, port, quiet=quiet, control_token=control_token or None,
                             request_timeout=request_timeout, max_connections=max_connections,
                             webhook_allow=webhook_allow or None)
    except RuntimeError as e:  # the port in use (a second serve), or an address not this machine's: one line
        print(f"fake-leaf serve: error: {e}", file=sys.stderr, flush=True)
        return 1
    _raise_descriptor_limit()
    stop = threading.Event()
    _on_signals(stop)  # before serving: a signal that comes at once still stops it cleanly
    if not _is_loopback(host):  # before the banner: whoever reads the banner has been warned
        print(_exposure_warning(host, server.url, bool(control_token)), file=sys.stderr, flush=True)
        if not webhook_allow:
            print(f"NOTE: fake-leaf listens on {host}, so it delivers webhooks nowhere until told where: start it "
                  "with --webhook-allow HOST[:PORT] (repeatable) for each receiver.", file=sys.stderr, flush=True)
    ready = {"ready": True, "url": server.url, "user_management_url": server.user_management_url,
             "owners": owners, "control_token_required": bool(control_token)}
    server.start()
    if ready_file:
        _write_atomically(ready_file, json.dumps(ready) + "\n")
    if ready_json:
        print(json.dumps(ready), flush=True)
    else:
        token = owners[0]["token"]
        needs = f" (send the header {CONTROL_TOKEN_HEADER})" if control_token else ""
        login = (f'{{"username": "{leaf.username}", "password": "{leaf.password}"}}' if not api_owners
                 else f"(the owners given with --api-owner: {', '.join(o['username'] for o in owners)})")
        print(f"fake-leaf serving the Leaf API at {server.url}\n"
              f"  login:  POST {server.url}/api/authenticate {login}\n"
              f"  token:  {token}\n"
              f"  try:    curl -H 'Authorization: Bearer {token}' {server.user_management_url}/users\n"
              f"  openapi: {server.url}/_fake-leaf/openapi.json   control plane: {server.url}/_fake-leaf/...{needs}\n"
              f"Press Ctrl+C (or send SIGTERM) to stop.", flush=True)
    try:
        while not stop.wait(0.5):  # a timed wait: the main thread stays responsive to signals everywhere
            pass
    finally:
        server.stop()
    return 0


def _raise_descriptor_limit(wanted: int = 4096) -> None:
    """Let the server keep its 2,048 connections open where the soft limit is lower (often 1,024)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def _on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (SIGINT even when a shell started ``serve`` in the background, ignoring it)."""
    def handler(signum: int, frame: object) -> None:
        stop.set()

    for name in ("SIGTERM", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def _write_atomically(path: str, text: str) -> None:
    """Write the whole file or nothing: a reader polling for it never sees half of it."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".fake-leaf-ready-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _api_owner(text: str) -> tuple[str, str]:
    username, colon, password = text.partition(":")
    if not colon or not username or not password:
        raise argparse.ArgumentTypeError(f"expected EMAIL:PASSWORD, got {text!r}")
    return username, password


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"expected a port from 0 (a free one) to 65535, got {text!r}")
    return int(text)


def _webhook_destination(text: str) -> str:
    from fake_leaf.adapters._senders import _host_port

    try:
        _host_port(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: it may resolve to any interface
        return False


def _exposure_warning(host: str, url: str, protected: bool) -> str:
    # other machines reach a wildcard address by one of this machine's own, never at http://0.0.0.0:PORT
    wildcard = host.strip("[]") in ("0.0.0.0", "::", "")
    reach = f"at any address of this machine, port {url.rsplit(':', 1)[1]}" if wildcard else f"at {url}"
    if protected:
        return (f"NOTE: fake-leaf listens on {host}, which other machines may reach {reach}. Its control plane "
                "(/_fake-leaf) needs the control token; Leaf's own paths take the default API owner's login above.")
    return (f"WARNING: fake-leaf listens on {host}, which other machines may reach {reach}, and its control plane "
            "/_fake-leaf needs no token there. Anyone who reaches the port can reset the fake, move its clock, "
            "inject faults, and read the journal, which holds every request body: posted passwords, client "
            "secrets and refresh tokens. Start it with --control-token TOKEN (or the environment variable "
            "FAKE_LEAF_CONTROL_TOKEN) to require that token on /_fake-leaf, or serve on 127.0.0.1.")


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value
    return parse


def openapi(server_url: str) -> int:
    from fake_leaf.engine import PROVIDERS
    from fake_leaf.http._openapi import openapi_document
    from fake_leaf.http._routes import build_routes

    print(json.dumps(openapi_document(build_routes(), list(PROVIDERS), server_url), indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fake-leaf", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="fake-leaf, a fake of Leaf Agriculture's API for tests. From the command line: serve it over "
                    "HTTP (for clients in any language), print its OpenAPI document, or run a short demo.",
        epilog=f"examples:\n"
               f"  fake-leaf serve                   serve on http://{DEFAULT_HOST}:{DEFAULT_PORT} until Ctrl+C\n"
               f"  fake-leaf serve --port 0          serve on a free port (the banner says which)\n"
               f"  fake-leaf openapi > leaf.json     save the OpenAPI document of what the fake serves\n"
               f"  fake-leaf COMMAND --help          the options of one command")
    parser.add_argument("--version", action="version", version=f"%(prog)s {fake_leaf.__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    serve_parser = commands.add_parser("serve", help="serve the fake over HTTP until interrupted",
                                       description="Serve the fake over HTTP until interrupted (Ctrl+C, SIGINT or "
                                                   "SIGTERM, in the foreground or the background).")
    serve_parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s)")
    serve_parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                              help="port to listen on (default %(default)s; 0 picks a free one and prints it)")
    serve_parser.add_argument("--quiet", action="store_true", help="no log line per request")
    serve_parser.add_argument("--rate-limit-per-minute", type=_positive(int), default=None, metavar="N",
                              help="turn on Leaf's rate limit: N requests a minute per API owner (Leaf's is 1000)")
    serve_parser.add_argument("--control-token", default=os.environ.get("FAKE_LEAF_CONTROL_TOKEN"), metavar="TOKEN",
                              help="require the header 'X-Fake-Leaf-Control-Token: TOKEN' on every /_fake-leaf "
                                   "request (default: $FAKE_LEAF_CONTROL_TOKEN; unset: no token needed)")
    serve_parser.add_argument("--request-timeout", type=_positive(float), default=10.0, metavar="SECONDS",
                              help="seconds a client has to send a whole request, headers and body (default 10)")
    serve_parser.add_argument("--max-connections", type=_positive(int), default=64, metavar="N",
                              help="requests served at once; more wait their turn (default 64)")
    serve_parser.add_argument("--api-owner", type=_api_owner, action="append", default=[], metavar="EMAIL:PASSWORD",
                              help="an API owner who can log in (repeatable); the first replaces the default login")
    serve_parser.add_argument("--webhook-allow", type=_webhook_destination, action="append", default=[],
                              metavar="HOST[:PORT]",
                              help="deliver webhooks to this receiver (repeatable); then only to those listed. "
                                   "Default: loopback addresses only, and nowhere when --host is not loopback. "
                                   "Never to fake-leaf's own address")
    serve_parser.add_argument("--ready-json", action="store_true",
                              help="print one JSON line when ready (url, user_management_url, owners with their "
                                   "tokens, control_token_required) instead of the banner")
    serve_parser.add_argument("--ready-file", default=None, metavar="PATH",
                              help="write that JSON to PATH (whole, atomically) once the server accepts connections")
    openapi_parser = commands.add_parser("openapi", help="print the OpenAPI 3 document of what the fake serves",
                                         description="Print the OpenAPI 3 document of what the fake serves.")
    openapi_parser.add_argument("--server-url", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
                                help="the URL written in the document's servers (default %(default)s, where "
                                     "fake-leaf serve listens by default)")
    commands.add_parser("demo", help="run a short scenario against an in-process fake and print it",
                        description="Run a short scenario against an in-process fake and print each request "
                                    "and answer.")
    verify_parser = commands.add_parser(
        "verify", help="compare a Leaf-compatible API (your Leaf sandbox) with the fake",
        description="Run the contract scenarios against a Leaf-compatible URL and against the fake, print each "
                    "difference, and delete what the run created. Exit 0: no difference; 1: differences; 2: "
                    "refused or unreachable.")
    verify_parser.add_argument("--base-url", required=True, help="where Leaf is, e.g. https://api.withleaf.io")
    verify_parser.add_argument("--username", required=True, help="the API owner's login")
    verify_parser.add_argument("--password", default=os.environ.get("LEAF_PASSWORD"),
                               help="its password (default: the LEAF_PASSWORD environment variable)")
    verify_parser.add_argument("--allow-existing-users", action="store_true",
                               help="run even if the account has Leaf users or webhooks (they are not touched)")
    verify_parser.add_argument("--webhook-url", default="https://example.invalid/fake-leaf-verify",
                               help="the URL registered in the webhook scenarios (it receives the confirmation)")
    for name in ("client-key", "client-secret", "refresh-token"):
        verify_parser.add_argument(f"--john-deere-{name}", default=None,
                                   help="John Deere values for the credential scenarios (all three, or skipped)")
    verify_parser.add_argument("--john-deere-environment", default=None, choices=("STAGE", "PRODUCTION"),
                               help="the clientEnvironment of those John Deere values (default STAGE)")
    return parser


def verify_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from fake_leaf.adapters._verify import verify

    if not args.password:
        parser.error("verify needs --password (or the LEAF_PASSWORD environment variable)")
    values = {"clientKey": args.john_deere_client_key, "clientSecret": args.john_deere_client_secret,
              "refreshToken": args.john_deere_refresh_token}
    if (any(values.values()) or args.john_deere_environment) and not all(values.values()):
        parser.error("give all of --john-deere-client-key, --john-deere-client-secret and "
                     "--john-deere-refresh-token (and --john-deere-environment, if not STAGE), or none of them "
                     "(the credential scenarios are then skipped)")
    john_deere = None
    if all(values.values()):
        john_deere = {**values, "clientEnvironment": args.john_deere_environment or "STAGE"}
    return verify(args.base_url, args.username, args.password, allow_existing_users=args.allow_existing_users,
                  john_deere=john_deere, webhook_url=args.webhook_url, out=sys.stdout)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(args.host, args.port, args.quiet, args.rate_limit_per_minute, args.control_token,
                     args.request_timeout, int(args.max_connections), args.api_owner, args.ready_json,
                     args.ready_file, args.webhook_allow)
    if args.command == "openapi":
        return openapi(args.server_url)
    if args.command == "verify":
        return verify_command(args, parser)
    return demo()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `fake-leaf` asks what it can do: the help, and nothing failed
        parser.print_help()
        return 0
    try:
        status = _run(parser, args)
        sys.stdout.flush()  # output that fitted in a closed pipe's buffer fails here, not at exit
        return status
    except BrokenPipeError:  # `fake-leaf openapi | head -1`: the reader has all it wanted
        _discard_stdout()
        return EXIT_CLOSED_PIPE
    except KeyboardInterrupt:
        # Ctrl+C is how `serve` ends, whenever it comes (the banner, the serving loop): a success. It
        # interrupts the other commands.
        return 0 if args.command == "serve" else EXIT_INTERRUPTED


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush at exit cannot fail again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
