#!/bin/sh
# setup-namespace.sh: create dunning's namespace (or set its retention) and
# register the loan search attributes, with the temporal CLI of the
# temporalio/admin-tools image. docker compose runs it once (service
# temporal-setup-namespace) after the server is healthy and before the worker
# and the API start; it is safe to run again. The attribute list is
# workflows.SearchAttributes (scripts/devserver.sh registers the same).
set -eu
addr=${TEMPORAL_ADDRESS:-temporal:7233}
ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_RETENTION:-30d}

# retry CMD...: run it until it succeeds, for up to two minutes (a new
# namespace takes a few seconds to reach every frontend).
retry() {
  i=0
  until "$@"; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
      echo "setup-namespace: giving up on: $*" >&2
      return 1
    fi
    sleep 2
  done
}

retry temporal operator cluster health --address "$addr"
if temporal operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; then
  retry temporal operator namespace update --address "$addr" --namespace "$ns" --retention "$retention"
else
  retry temporal operator namespace create --address "$addr" --namespace "$ns" --retention "$retention"
fi
retry temporal operator search-attribute create --address "$addr" --namespace "$ns" \
  --name LoanId --type Keyword \
  --name CustomerId --type Keyword \
  --name LoanState --type Keyword \
  --name DaysPastDue --type Int \
  --name DelinquencyBucket --type Keyword \
  --name OutstandingTotal --type Double \
  --name NextReminderAt --type Datetime
echo "setup-namespace: namespace $ns (retention $retention) with the loan search attributes"
