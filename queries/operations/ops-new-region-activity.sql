-- id: ops-new-region-activity
-- title: API activity in a region the account did not use before
-- severity: low
-- expect: none
-- tags: operations, regions, attack.defense-evasion, attack.impact
-- params: since=30d,recent=1d
-- description: Regions where an account's first call in the look-back window (since `since`)
--   came after `recent`: a region the account had not used for the rest of the window.
--   Attackers mine, stage or hide resources in regions nobody watches. Calls made by AWS
--   services on their own are left out. An account with no activity before `recent` is
--   skipped, since every region would look new. Shows who called there, with what, and up to
--   ten of the actions as service:action.
WITH activity AS (
  SELECT *
  FROM cloudtrail
  WHERE eventtime >= ${since}
    AND (actor_kind IS DISTINCT FROM 'aws_service')
    AND (eventtype IS DISTINCT FROM 'AwsServiceEvent')
),
accounts AS (
  SELECT recipientaccountid, min(eventtime) AS account_first_seen
  FROM activity
  GROUP BY recipientaccountid
),
regions AS (
  SELECT
    recipientaccountid,
    awsregion,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    count(*) AS events,
    sum(CASE WHEN readonly = false THEN 1 ELSE 0 END) AS writes,
    array_to_string(array_sort(array_agg(DISTINCT actor)), ', ') AS callers,
    array_to_string(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ips,
    array_to_string(
      array_slice(array_sort(array_agg(DISTINCT split_part(eventsource, '.', 1) || ':' || eventname)), 1, 10),
      ', '
    ) AS sample_actions
  FROM activity
  GROUP BY recipientaccountid, awsregion
)
SELECT r.*
FROM regions r
JOIN accounts a ON a.recipientaccountid = r.recipientaccountid
WHERE r.first_seen >= ${recent}
  AND a.account_first_seen < ${recent}
ORDER BY r.recipientaccountid, r.first_seen, r.awsregion;
