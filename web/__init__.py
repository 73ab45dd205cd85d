"""The Litestar app: REST API under /api/v1, OpenAPI at /schema, the browser page at /."""
