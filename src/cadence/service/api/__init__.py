"""The HTTP API (FastAPI). ``create_app`` builds it; ``cadence serve`` runs it."""

from cadence.service.api.app import create_app

__all__ = ["create_app"]
