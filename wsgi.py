"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

from tracker import create_app

app = create_app()
