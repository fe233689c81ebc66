-- id: kms-key-disabled-or-deletion-scheduled
-- title: KMS key disabled or scheduled for deletion
-- severity: high
-- expect: none
-- tags: tampering, kms, attack.impact, attack.t1485
-- description: A successful kms:ScheduleKeyDeletion or kms:DisableKey. Data encrypted under
--   the key becomes unreadable (disabled) or is lost for good once the waiting period
--   ends (pending_window_days, deletion_date); a ransom or destruction pattern. The key
--   can be recovered with CancelKeyDeletion / EnableKey until then. Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       coalesce(responseElements.keyId, requestParameters.keyId) AS key_id,
       coalesce(requestParameters.pendingWindowInDays,
                responseElements.pendingWindowInDays) AS pending_window_days,
       responseElements.deletionDate AS deletion_date,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'kms.amazonaws.com'
  AND eventname IN ('ScheduleKeyDeletion', 'DisableKey')
  AND errorcode IS NULL
ORDER BY eventtime, eventid
