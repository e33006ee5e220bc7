"""Transport-agnostic HTTP: request/response types, the route table, handlers, Leaf's error bodies."""

from fake_leaf.http._app import LeafApp
from fake_leaf.http._types import HttpRequest, HttpResponse, JournalEntry

__all__ = ["HttpRequest", "HttpResponse", "JournalEntry", "LeafApp"]
