"""gunicorn entry: gunicorn 'services.evaluation.wsgi:app'"""
from . import create_app

app = create_app()
