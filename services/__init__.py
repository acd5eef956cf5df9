"""The three services: intake, casework, evaluation. Each owns its database and API."""
