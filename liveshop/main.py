"""ASGI entry point: ``uvicorn liveshop.main:app``."""

from liveshop.app import create_app
from liveshop.core.config import InsecureSecretKey, get_settings

try:
    # Settings come from the environment here, at the entry point, and are passed below it.
    app = create_app(get_settings(), serving_process=True)
except InsecureSecretKey as refused:
    # One line on stderr and a failed exit, rather than a traceback: uvicorn stops here.
    raise SystemExit(f"liveshop: refusing to serve: {refused}") from None
