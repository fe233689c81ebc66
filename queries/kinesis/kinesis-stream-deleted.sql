-- id: kinesis-stream-deleted
-- title: Kinesis data stream deleted
-- severity: medium
-- expect: none
-- tags: kinesis, attack.impact, lifecycle
-- description: A Kinesis data stream was deleted (successful DeleteStream); the records it
--   held are gone with it. Each deletion is shown with the stream's lifecycle when the
--   logs also hold its creation: created_at and created_by come from the latest successful
--   CreateStream of the same name, account and region before the deletion, and
--   lived_seconds is the time between the two. They are empty when the creation is not in
--   the logs. A stream named only by ARN (streamARN) is matched by the name in the ARN.
WITH created AS (
  SELECT
    COALESCE(recipientaccountid, useridentity_accountid) AS account,
    awsregion AS region,
    requestParameters.streamName AS stream_name,
    eventtime AS created_at,
    actor AS created_by
  FROM cloudtrail
  WHERE eventsource = 'kinesis.amazonaws.com'
    AND eventname = 'CreateStream'
    AND errorcode IS NULL
),
deleted AS (
  SELECT
    eventid,
    eventtime,
    actor,
    actor_kind,
    credential_kind,
    sourceipaddress,
    awsregion,
    recipientaccountid,
    COALESCE(recipientaccountid, useridentity_accountid) AS account,
    COALESCE(requestParameters.streamName, split_part(requestParameters.streamARN, '/', 2)) AS stream_name,
    requestParameters.enforceConsumerDeletion AS enforce_consumer_deletion
  FROM cloudtrail
  WHERE eventsource = 'kinesis.amazonaws.com'
    AND eventname = 'DeleteStream'
    AND errorcode IS NULL
),
lifecycle AS (
  SELECT
    d.eventid,
    max(c.created_at) AS created_at,
    last_value(c.created_by ORDER BY c.created_at) AS created_by
  FROM deleted d
  LEFT JOIN created c
    ON c.account = d.account
   AND c.region = d.awsregion
   AND c.stream_name = d.stream_name
   AND c.created_at <= d.eventtime
  GROUP BY d.eventid
)
SELECT
  d.eventtime AS deleted_at,
  d.actor,
  d.actor_kind,
  d.credential_kind,
  d.sourceipaddress,
  d.awsregion,
  d.recipientaccountid,
  d.stream_name,
  d.enforce_consumer_deletion,
  l.created_at,
  l.created_by,
  CAST(date_part('epoch', d.eventtime) - date_part('epoch', l.created_at) AS BIGINT) AS lived_seconds
FROM deleted d
JOIN lifecycle l ON l.eventid = d.eventid
ORDER BY deleted_at, d.stream_name;
