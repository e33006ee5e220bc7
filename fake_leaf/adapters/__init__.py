"""The transports that serve the HTTP layer: the `responses` interceptor (and, later, WSGI)."""
