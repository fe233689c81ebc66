-- id: kinesis-stream-mode-changed
-- title: Kinesis stream capacity mode changed
-- severity: low
-- expect: none
-- tags: kinesis, capacity, cost
-- description: A Kinesis data stream was switched between provisioned and on-demand capacity
--   (successful UpdateStreamMode). On-demand bills per GB written and read and scales
--   without limit set by shards; provisioned caps throughput at the shard count, so a switch
--   either way changes cost and how much data the stream can move. stream_mode is the new
--   mode.
SELECT
  eventtime,
  actor,
  actor_kind,
  credential_kind,
  sourceipaddress,
  awsregion,
  recipientaccountid,
  COALESCE(split_part(requestParameters.streamARN, '/', 2), requestParameters.streamName) AS stream_name,
  requestParameters.streamModeDetails.streamMode AS stream_mode,
  requestParameters.streamARN AS stream_arn
FROM cloudtrail
WHERE eventsource = 'kinesis.amazonaws.com'
  AND eventname = 'UpdateStreamMode'
  AND errorcode IS NULL
ORDER BY eventtime, stream_name;
