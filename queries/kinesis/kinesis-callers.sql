-- id: kinesis-callers
-- title: Who called Kinesis Data Streams, from where, with what credentials
-- severity: info
-- expect: none
-- tags: kinesis, report, inventory
-- params: since=30d
-- description: One row per caller, credential kind and source address that made Kinesis Data
--   Streams calls (management and data events) since `since`: how many calls, how many
--   distinct actions and regions, how many failed, and when first and last seen. Look for
--   long-term keys where roles are expected, root, unknown addresses and callers with many
--   failures.
SELECT
  actor,
  actor_kind,
  credential_kind,
  sourceipaddress,
  count(*) AS events,
  count(DISTINCT eventname) AS actions,
  count(DISTINCT awsregion) AS regions,
  sum(CASE WHEN errorcode IS NOT NULL THEN 1 ELSE 0 END) AS errors,
  min(eventtime) AS first_seen,
  max(eventtime) AS last_seen
FROM cloudtrail
WHERE eventsource = 'kinesis.amazonaws.com'
  AND eventtime >= ${since}
GROUP BY actor, actor_kind, credential_kind, sourceipaddress
ORDER BY events DESC, actor, sourceipaddress;
