-- id: cloudtrail-trail-updated
-- title: CloudTrail trail settings changed
-- severity: medium
-- expect: none
-- tags: tampering, cloudtrail, attack.defense-evasion, attack.t1562.008
-- description: Every successful cloudtrail:UpdateTrail, with the settings it sent (a
--   setting the call did not change is empty). suspicious_change is true when the update
--   narrows or redirects the trail: multi-region or global service events turned off,
--   log file validation turned off, or logs sent to a different S3 bucket. Failed calls
--   are left out.
SELECT eventtime, actor, actor_kind, credential_kind,
       requestParameters.name AS trail,
       (coalesce(requestParameters.isMultiRegionTrail = 'false', false)
        OR coalesce(requestParameters.includeGlobalServiceEvents = 'false', false)
        OR coalesce(requestParameters.enableLogFileValidation = 'false', false)
        OR requestParameters.s3BucketName IS NOT NULL) AS suspicious_change,
       requestParameters.s3BucketName AS s3_bucket,
       requestParameters.s3KeyPrefix AS s3_key_prefix,
       requestParameters.isMultiRegionTrail AS multi_region,
       requestParameters.includeGlobalServiceEvents AS global_service_events,
       requestParameters.enableLogFileValidation AS log_file_validation,
       requestParameters.kmsKeyId AS kms_key_id,
       requestParameters.cloudWatchLogsLogGroupArn AS cloudwatch_log_group,
       requestParameters.snsTopicName AS sns_topic,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname = 'UpdateTrail'
  AND errorcode IS NULL
ORDER BY eventtime, eventid
