"""What the three services share: config, events, the bus, outbox, inbox, auth, errors, logging.

Nothing here imports a service; services hand shared their own names, models and handlers.
"""
