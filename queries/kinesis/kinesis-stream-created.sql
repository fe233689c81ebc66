-- id: kinesis-stream-created
-- title: Kinesis data stream created
-- severity: low
-- expect: none
-- tags: kinesis, inventory, attack.exfiltration
-- description: A Kinesis data stream was created (successful CreateStream). New streams are
--   a place data can be piped out of the account through; confirm the creator and the purpose.
--   Kinesis Video Streams also has a CreateStream action (eventsource
--   kinesisvideo.amazonaws.com); it is not matched here.
SELECT
  eventtime,
  actor,
  actor_kind,
  credential_kind,
  sourceipaddress,
  useragent,
  awsregion,
  recipientaccountid,
  requestParameters.streamName AS stream_name,
  requestParameters.shardCount AS shard_count,
  requestParameters.streamModeDetails.streamMode AS stream_mode
FROM cloudtrail
WHERE eventsource = 'kinesis.amazonaws.com'
  AND eventname = 'CreateStream'
  AND errorcode IS NULL
ORDER BY eventtime, stream_name;
