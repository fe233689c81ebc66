-- id: ops-access-denied-by-principal
-- title: Access denied by principal
-- severity: low
-- expect: none
-- tags: operations, report, errors, attack.discovery
-- params: since=30d
-- description: Principals refused for lack of permission since `since` (error codes
--   AccessDenied, AccessDeniedException, Client.UnauthorizedOperation, UnauthorizedOperation
--   and any other code containing AccessDenied, e.g. KMSAccessDeniedException), with how many
--   calls were denied, across how many services and actions, from how many addresses, and
--   the denied actions as service:action (e.g. iam:ListUsers). A few denials are a policy to
--   fix; denials spread over many services are what enumeration with stolen credentials
--   looks like.
SELECT
  actor,
  actor_kind,
  credential_kind,
  count(*) AS denied,
  count(DISTINCT eventsource) AS services,
  count(DISTINCT eventname) AS actions,
  count(DISTINCT sourceipaddress) AS source_ips,
  string_agg(
    DISTINCT split_part(eventsource, '.', 1) || ':' || eventname, ', '
    ORDER BY split_part(eventsource, '.', 1) || ':' || eventname
  ) AS denied_actions,
  min(eventtime) AS first_seen,
  max(eventtime) AS last_seen
FROM cloudtrail
WHERE eventtime >= ${since}
  AND (
    errorcode LIKE '%AccessDenied%'
    OR errorcode IN ('Client.UnauthorizedOperation', 'UnauthorizedOperation')
  )
GROUP BY actor, actor_kind, credential_kind
ORDER BY denied DESC, services DESC, actor;
