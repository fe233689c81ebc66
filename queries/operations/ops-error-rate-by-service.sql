-- id: ops-error-rate-by-service
-- title: API error rate by service and caller
-- severity: info
-- expect: none
-- tags: operations, report, errors
-- params: since=30d
-- description: For each service and caller with at least one failed call since `since`: calls,
--   failures, the share that failed (error_rate, 0 to 1) and the error codes seen. A high rate
--   points at broken automation, missing permissions, or a caller probing what it may do.
SELECT
  eventsource,
  actor,
  actor_kind,
  count(*) AS events,
  count(errorcode) AS errors,
  round(CAST(count(errorcode) AS DOUBLE) / count(*), 3) AS error_rate,
  string_agg(DISTINCT errorcode, ', ' ORDER BY errorcode) AS error_codes,
  min(eventtime) AS first_seen,
  max(eventtime) AS last_seen
FROM cloudtrail
WHERE eventtime >= ${since}
GROUP BY eventsource, actor, actor_kind
HAVING count(errorcode) > 0
ORDER BY errors DESC, error_rate DESC, eventsource, actor;
