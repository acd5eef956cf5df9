#!/bin/sh
# Writes the application user next to the topology definitions, then starts RabbitMQ.
# The password comes from the environment, never from a file in the repository.
set -eu
: "${RABBITMQ_USER:?RABBITMQ_USER is required}"
: "${RABBITMQ_PASSWORD:?RABBITMQ_PASSWORD is required}"
mkdir -p /etc/rabbitmq/definitions.d
cp /etc/socialwork/definitions.json /etc/rabbitmq/definitions.d/10-topology.json
cat > /etc/rabbitmq/definitions.d/20-users.json <<JSON
{"users": [{"name": "${RABBITMQ_USER}", "password": "${RABBITMQ_PASSWORD}",
            "tags": "administrator"}],
 "permissions": [{"user": "${RABBITMQ_USER}", "vhost": "/", "configure": ".*",
                  "write": ".*", "read": ".*"}]}
JSON
exec docker-entrypoint.sh rabbitmq-server
