"""Routers of the dashboard, one per resource."""
