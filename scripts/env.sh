# Source this file (`. scripts/env.sh`) to export the service URLs used by the integration tests.
# Ports follow the same overrides as scripts/services.sh, which sources this file for its defaults.

export RIVULET_KAFKA_PORT="${RIVULET_KAFKA_PORT:-19092}"
export RIVULET_KAFKA_CONTROLLER_PORT="${RIVULET_KAFKA_CONTROLLER_PORT:-19093}"
export RIVULET_REDIS_PORT="${RIVULET_REDIS_PORT:-16379}"
export RIVULET_INFLUX_PORT="${RIVULET_INFLUX_PORT:-18086}"
export RIVULET_INFLUX_RPC_PORT="${RIVULET_INFLUX_RPC_PORT:-18088}"
export RIVULET_VICTORIA_PORT="${RIVULET_VICTORIA_PORT:-18428}"

export RIVULET_KAFKA_BROKERS="127.0.0.1:${RIVULET_KAFKA_PORT}"
export RIVULET_REDIS_URL="redis://127.0.0.1:${RIVULET_REDIS_PORT}"
export RIVULET_INFLUX_URL="http://127.0.0.1:${RIVULET_INFLUX_PORT}"
export RIVULET_INFLUX_DB="rivulet"
export RIVULET_VICTORIA_URL="http://127.0.0.1:${RIVULET_VICTORIA_PORT}"
