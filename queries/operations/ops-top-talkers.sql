-- id: ops-top-talkers
-- title: Top talkers - principals by number of API calls
-- severity: info
-- expect: none
-- tags: operations, report, inventory
-- params: since=30d
-- description: The 25 principals that made the most calls since `since`, with how many
--   services, actions, regions and source addresses they used, how many calls failed and how
--   many changed something (readonly false). AWS services acting on their own (actor_kind
--   aws_service, and AwsServiceEvent records) are left out: they are not callers to review.
--   A principal new to this list, or one whose write count jumps, is worth a look.
SELECT
  actor,
  actor_kind,
  credential_kind,
  count(*) AS events,
  sum(CASE WHEN readonly = false THEN 1 ELSE 0 END) AS writes,
  count(errorcode) AS errors,
  count(DISTINCT eventsource) AS services,
  count(DISTINCT eventname) AS actions,
  count(DISTINCT awsregion) AS regions,
  count(DISTINCT sourceipaddress) AS source_ips,
  min(eventtime) AS first_seen,
  max(eventtime) AS last_seen
FROM cloudtrail
WHERE eventtime >= ${since}
  AND (actor_kind IS DISTINCT FROM 'aws_service')
  AND (eventtype IS DISTINCT FROM 'AwsServiceEvent')
GROUP BY actor, actor_kind, credential_kind
ORDER BY events DESC, actor
LIMIT 25;
