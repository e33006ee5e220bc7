"""httpx and aiohttp for one fake: served while it is active, without fake-leaf ever importing them itself.

A library already imported is patched when the fake starts. One imported later, while a fake is
active, is patched the moment its import finishes (a finder on ``sys.meta_path`` for just these
names, there only while a fake is active), so a client made after ``import httpx`` inside the
``with`` block is served too, and a project that never imports them never pays for them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any, Protocol

from fake_leaf.http import LeafApp

# the libraries served besides requests, and fake-leaf's adapter for each
ADAPTERS = {"httpx": "fake_leaf.adapters._httpx", "aiohttp": "fake_leaf.adapters._aiohttp"}


class _Interceptor(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


_active: list[OtherClients] = []
_interceptor_types: dict[str, Callable[[Callable[[], LeafApp], str], _Interceptor]] = {}  # by library, once imported


class OtherClients:
    """One fake's interceptors for httpx and aiohttp, each made when its library is first there."""

    def __init__(self, app_source: Callable[[], LeafApp], base_url: str) -> None:
        self._app_source, self._base_url = app_source, base_url
        self._made: dict[str, _Interceptor] = {}
        self._started: dict[str, _Interceptor] = {}  # in the order started

    def start(self) -> None:
        _active.append(self)
        missing = False
        for library in ADAPTERS:
            if sys.modules.get(library) is not None:
                self.serve(library)
            elif library not in sys.modules:
                missing = True
        if missing and _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)

    def serve(self, library: str) -> None:
        if library in self._started:
            return
        interceptor = self._made.get(library)
        if interceptor is None:
            made = _interceptor_types.get(library)
            if made is None:
                made = _interceptor_types[library] = importlib.import_module(ADAPTERS[library]).Interceptor
            interceptor = self._made[library] = made(self._app_source, self._base_url)
        interceptor.start()
        self._started[library] = interceptor

    def stop(self) -> None:
        while self._started:
            self._started.popitem()[1].stop()  # the last started first
        if self in _active:
            _active.remove(self)
        if not _active and _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)


class _ServeOnImport:
    """A meta path finder for httpx and aiohttp only: their own spec, whose loader serves them once loaded."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in ADAPTERS:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ServingLoader(spec.loader, fullname)
                return spec
        return None


class _ServingLoader:
    """The library's own loader; once it has run the module, every active fake serves the library."""

    def __init__(self, loader: Any, library: str) -> None:
        self._loader, self._library = loader, library

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        for fake in list(_active):
            fake.serve(self._library)

    def __getattr__(self, name: str) -> Any:  # resource readers, get_filename ...: the library's loader's
        return getattr(self._loader, name)


_FINDER = _ServeOnImport()
