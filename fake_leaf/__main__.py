"""``python -m fake_leaf demo``: drive an in-process fake with `requests` and print what it does."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fake_leaf", description=__doc__)
    parser.add_argument("command", choices=["demo"], help="demo: run a short scenario against the fake")
    parser.parse_args(argv)
    return demo()


if __name__ == "__main__":
    sys.exit(main())
