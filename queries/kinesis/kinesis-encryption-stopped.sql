-- id: kinesis-encryption-stopped
-- title: Kinesis stream server-side encryption stopped
-- severity: high
-- expect: none
-- tags: kinesis, encryption, attack.defense-evasion, attack.impact
-- description: Server-side encryption was turned off on a Kinesis data stream (successful
--   StopStreamEncryption). Records written from now on are stored unencrypted, and
--   readers no longer need kms:Decrypt on the key. Confirm the change was approved;
--   key_id is the KMS key the stream was using.
SELECT
  eventtime,
  actor,
  actor_kind,
  credential_kind,
  sourceipaddress,
  useragent,
  awsregion,
  recipientaccountid,
  COALESCE(requestParameters.streamName, split_part(requestParameters.streamARN, '/', 2)) AS stream_name,
  requestParameters.encryptionType AS encryption_type,
  requestParameters.keyId AS key_id
FROM cloudtrail
WHERE eventsource = 'kinesis.amazonaws.com'
  AND eventname = 'StopStreamEncryption'
  AND errorcode IS NULL
ORDER BY eventtime, stream_name;
