-- id: kinesis-data-access
-- title: Kinesis data-plane access by caller and stream
-- severity: info
-- expect: none
-- tags: kinesis, report, data-events, attack.collection
-- params: since=30d
-- description: Who read and wrote records of which Kinesis data stream since `since`, from
--   Kinesis data events (eventcategory 'Data': GetRecords, GetShardIterator, SubscribeToShard,
--   PutRecord, PutRecords); only trails with Kinesis data events enabled log them. The stream
--   is taken from streamName, else the streamARN or consumerARN in the request, else the
--   event's first resource (GetRecords carries only a shard iterator). A reader that is not
--   a known consumer, or an unfamiliar address, can be data being taken out.
SELECT
  actor,
  actor_kind,
  recipientaccountid,
  awsregion,
  stream_name,
  count(*) AS events,
  sum(CASE WHEN eventname IN ('GetRecords', 'GetShardIterator', 'SubscribeToShard') THEN 1 ELSE 0 END) AS reads,
  sum(CASE WHEN eventname IN ('PutRecord', 'PutRecords') THEN 1 ELSE 0 END) AS writes,
  sum(CASE WHEN errorcode IS NOT NULL THEN 1 ELSE 0 END) AS errors,
  count(DISTINCT sourceipaddress) AS source_ips,
  min(eventtime) AS first_seen,
  max(eventtime) AS last_seen
FROM (
  SELECT
    *,
    COALESCE(
      requestParameters.streamName,
      split_part(COALESCE(requestParameters.streamARN, requestParameters.consumerARN, resources[1]['arn']), '/', 2)
    ) AS stream_name
  FROM cloudtrail
  WHERE eventsource = 'kinesis.amazonaws.com'
    AND eventcategory = 'Data'
    AND eventname IN ('GetRecords', 'GetShardIterator', 'SubscribeToShard', 'PutRecord', 'PutRecords')
    AND eventtime >= ${since}
)
GROUP BY actor, actor_kind, recipientaccountid, awsregion, stream_name
ORDER BY events DESC, actor, stream_name;
