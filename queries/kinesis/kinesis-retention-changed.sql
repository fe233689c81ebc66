-- id: kinesis-retention-changed
-- title: Kinesis stream retention period changed
-- severity: low
-- expect: none
-- tags: kinesis, retention, attack.impact
-- description: The retention period of a Kinesis data stream was raised or lowered
--   (successful IncreaseStreamRetentionPeriod or DecreaseStreamRetentionPeriod).
--   A decrease makes records older than the new period unreadable at once, so it can
--   destroy data consumers have not read yet; an increase raises cost. retention_period_hours
--   is the new period (24 to 8760).
SELECT
  eventtime,
  actor,
  actor_kind,
  credential_kind,
  sourceipaddress,
  awsregion,
  recipientaccountid,
  COALESCE(requestParameters.streamName, split_part(requestParameters.streamARN, '/', 2)) AS stream_name,
  CASE eventname
    WHEN 'DecreaseStreamRetentionPeriod' THEN 'decrease'
    ELSE 'increase'
  END AS direction,
  requestParameters.retentionPeriodHours AS retention_period_hours
FROM cloudtrail
WHERE eventsource = 'kinesis.amazonaws.com'
  AND eventname IN ('IncreaseStreamRetentionPeriod', 'DecreaseStreamRetentionPeriod')
  AND errorcode IS NULL
ORDER BY eventtime, stream_name;
