#!/bin/sh
# One-off, once the workers of a build poll Temporal: make their Worker Deployment
# version current (deploy/README.md, "Upgrading workers"). New cases start on it, and
# running cases (auto-upgrade, docs/DECISIONS.md) move to it at their next step.
# The server refuses while it has seen no poller of the version: asked again until then.
# Idempotent: setting the current version again changes nothing.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${CASEWORK_TEMPORAL_NAMESPACE:-default}"
NAME="${CASEWORK_WORKER_DEPLOYMENT_NAME:?set CASEWORK_WORKER_DEPLOYMENT_NAME}"
BUILD="${CASEWORK_WORKER_BUILD_ID:?set CASEWORK_WORKER_BUILD_ID}"
TRIES="${TRIES:-60}"

n=0
until temporal worker deployment set-current-version --address "$ADDRESS" \
    --namespace "$NAMESPACE" --deployment-name "$NAME" --build-id "$BUILD" --yes; do
  n=$((n + 1))
  if [ "$n" -ge "$TRIES" ]; then
    echo "no worker of $NAME.$BUILD polls $ADDRESS: is the worker service up?" >&2
    exit 1
  fi
  echo "waiting for workers of $NAME.$BUILD to poll ..."
  sleep 5
done
echo "current version of $NAME: $BUILD"
