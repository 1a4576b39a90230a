"""WSGI entry point for production servers: `gunicorn videocoach.wsgi:app`.

Migrations are not applied here (every worker process imports this module);
run `videocoach db upgrade` once before starting the web processes.
"""

from videocoach.app import create_app

app = create_app()
