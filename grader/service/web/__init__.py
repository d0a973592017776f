"""The web: the FastAPI app, its middleware, security, event streams, API routes and pages."""
