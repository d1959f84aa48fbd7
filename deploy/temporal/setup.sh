#!/bin/sh
# One-off, after the Temporal server is healthy: the namespace casework uses and the
# search attributes its workflows upsert (casework/temporal.py SEARCH_ATTRIBUTES).
# Idempotent: an existing namespace or attribute is left as it is.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${CASEWORK_TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_RETENTION:-30d}"

until temporal operator cluster health --address "$ADDRESS"; do
  echo "waiting for Temporal at $ADDRESS ..."
  sleep 3
done
temporal operator namespace describe -n "$NAMESPACE" --address "$ADDRESS" \
  || temporal operator namespace create -n "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
for attr in CaseType:Keyword CaseStage:Keyword CaseDistrict:Keyword CaseAssignee:Keyword \
            CaseStatus:Keyword CaseDueAt:Datetime; do
  name="${attr%%:*}"
  type="${attr##*:}"
  temporal operator search-attribute create -n "$NAMESPACE" --address "$ADDRESS" \
    --name "$name" --type "$type" || echo "search attribute $name exists"
done
echo "namespace $NAMESPACE ready"
