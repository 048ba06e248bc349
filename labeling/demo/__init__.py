"""The demo data that ``manage.py load_demo`` loads."""
