"""Entry point for the Celery command line: `celery -A workers.main worker|beat`.

Only the celery CLI imports this module, so building the Flask app here does not make
importing the service build one.
"""

from service import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
