"""gunicorn entry: gunicorn 'services.casework.wsgi:app'"""
from . import create_app

app = create_app()
