"""WSGI entry point (gunicorn tvr_dashboard.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvr_dashboard.settings")
application = get_wsgi_application()
