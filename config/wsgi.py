"""WSGI entry point for gunicorn (``gunicorn config.wsgi``): Django, with the labeling loop's
two requests answered ahead of its handler (labeling/hot_path.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from labeling.hot_path import HotPathApplication  # noqa: E402 - needs the apps loaded

application = HotPathApplication(application)
