"""gunicorn entry: gunicorn 'services.intake.wsgi:app'"""
from . import create_app

app = create_app()
