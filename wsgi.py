"""WSGI entry point for any server: ``gunicorn -k gthread --threads 32 wsgi:app``."""
from core import create_app

app = create_app()
