"""The dashboard: one FastAPI app with the pages, the REST API and the agent API."""

from zerodte.dashboard.app import create_app

__all__ = ["create_app"]
