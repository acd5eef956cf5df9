"""How the platform is deployed: the image, gunicorn's settings, the broker's definitions and
the database set-up, with the two commands ops run beside the services: `python -m
deploy.migrate` (every service's database to its newest migration) and `python -m
deploy.topology` (the RabbitMQ definitions file, generated from the code)."""
