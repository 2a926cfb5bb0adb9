"""ASGI entry point: ``uvicorn liveshop.main:app``."""

from liveshop.core.collector import settle_for_serving
from liveshop.web.app import create_app

app = create_app()
settle_for_serving()
