-- id: ops-new-user-agent-family
-- title: Principal calling with a kind of client it has not used before
-- severity: low
-- expect: none
-- tags: operations, user-agent, attack.credential-access, attack.initial-access
-- params: since=30d,recent=1d
-- description: A principal seen before `recent` (within the look-back since `since`) started
--   using a new family of client after `recent`: console, aws-cli, cloudshell, terraform,
--   boto3, an aws-sdk-* (by language), a browser, or the first word of any other user agent
--   (curl, python-requests, ...). Versions are ignored, so upgrades do not fire. A role that
--   only ever ran from an SDK suddenly used from the CLI, or a user's key used by a tool it
--   never used, suggests the credentials are in someone else's hands. earlier_families are
--   the families the principal used before. AWS services acting on their own are left out.
WITH calls AS (
  SELECT
    actor,
    actor_kind,
    eventtime,
    sourceipaddress,
    useragent,
    CASE
      WHEN useragent IS NULL OR useragent = '' THEN 'none'
      WHEN useragent IN ('console.amazonaws.com', 'signin.amazonaws.com')
        OR useragent LIKE 'console.%amazonaws.com'
        OR useragent LIKE 'AWS Internal%' THEN 'console'
      WHEN useragent LIKE '%exec-env/CloudShell%' THEN 'cloudshell'
      WHEN useragent LIKE 'aws-cli/%' OR useragent LIKE '[aws-cli/%' THEN 'aws-cli'
      WHEN useragent LIKE '%Terraform/%' THEN 'terraform'
      WHEN useragent LIKE 'Boto3/%' OR useragent LIKE '%Botocore/%' OR useragent LIKE '%botocore/%' THEN 'boto3'
      WHEN useragent LIKE 'aws-sdk-%' THEN lower(split_part(useragent, '/', 1))
      WHEN useragent LIKE 'Mozilla/%' THEN 'browser'
      WHEN useragent LIKE '%.amazonaws.com' THEN 'aws-service'
      ELSE lower(split_part(split_part(btrim(useragent, '[]'), '/', 1), ' ', 1))
    END AS user_agent_family
  FROM cloudtrail
  WHERE eventtime >= ${since}
    AND (actor_kind IS DISTINCT FROM 'aws_service')
    AND (eventtype IS DISTINCT FROM 'AwsServiceEvent')
),
families AS (
  SELECT
    actor,
    actor_kind,
    user_agent_family,
    min(eventtime) AS first_seen,
    max(eventtime) AS last_seen,
    count(*) AS events,
    array_to_string(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ips,
    min(useragent) AS example_user_agent
  FROM calls
  GROUP BY actor, actor_kind, user_agent_family
),
earlier AS (
  SELECT
    actor,
    array_to_string(array_sort(array_agg(DISTINCT user_agent_family)), ', ') AS earlier_families
  FROM families
  WHERE first_seen < ${recent}
  GROUP BY actor
)
SELECT
  f.actor,
  f.actor_kind,
  f.user_agent_family,
  e.earlier_families,
  f.first_seen,
  f.last_seen,
  f.events,
  f.source_ips,
  f.example_user_agent
FROM families f
JOIN earlier e ON e.actor = f.actor
WHERE f.first_seen >= ${recent}
ORDER BY f.first_seen, f.actor, f.user_agent_family;
