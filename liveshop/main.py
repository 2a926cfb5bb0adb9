"""ASGI entry point: ``uvicorn liveshop.main:app``."""

from liveshop.web.app import create_app

app = create_app(serving_process=True)
