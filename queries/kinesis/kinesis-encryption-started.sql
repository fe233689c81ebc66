-- id: kinesis-encryption-started
-- title: Kinesis stream server-side encryption started or re-keyed
-- severity: low
-- expect: none
-- tags: kinesis, encryption, attack.impact
-- description: Server-side encryption was turned on for a Kinesis data stream, or its KMS
--   key changed (successful StartStreamEncryption). Usually a hardening step; but a key
--   owned by another account (key_in_other_account = true) lets that account cut off
--   every reader of the stream by disabling the key or changing its policy. key_account is
--   the account in the key ARN, empty for a bare key id or alias name, which are in the
--   stream's own account.
SELECT
  eventtime,
  actor,
  actor_kind,
  credential_kind,
  sourceipaddress,
  awsregion,
  recipientaccountid,
  stream_name,
  encryption_type,
  key_id,
  key_account,
  COALESCE(key_account <> recipientaccountid, false) AS key_in_other_account
FROM (
  SELECT
    eventtime,
    actor,
    actor_kind,
    credential_kind,
    sourceipaddress,
    awsregion,
    recipientaccountid,
    COALESCE(requestParameters.streamName, split_part(requestParameters.streamARN, '/', 2)) AS stream_name,
    requestParameters.encryptionType AS encryption_type,
    requestParameters.keyId AS key_id,
    CASE
      WHEN requestParameters.keyId LIKE 'arn:%' THEN split_part(requestParameters.keyId, ':', 5)
    END AS key_account
  FROM cloudtrail
  WHERE eventsource = 'kinesis.amazonaws.com'
    AND eventname = 'StartStreamEncryption'
    AND errorcode IS NULL
)
ORDER BY eventtime, stream_name;
