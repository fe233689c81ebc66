-- id: cloudtrail-stop-logging
-- title: CloudTrail logging stopped
-- severity: high
-- expect: none
-- tags: tampering, cloudtrail, attack.defense-evasion, attack.t1562.008
-- description: cloudtrail:StopLogging on a trail, or cloudtrail:StopEventDataStoreIngestion
--   on a CloudTrail Lake event data store: events stop being recorded. Attempts are
--   reported whether they succeeded or not, because an attempt to blind the logs is a
--   finding in itself: errorcode is empty for a call that worked (AccessDenied means
--   someone tried without the rights).
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       coalesce(requestParameters.name, requestParameters.eventDataStore) AS trail,
       sourceipaddress, useragent, awsregion, recipientaccountid,
       errorcode, errormessage, eventid
FROM cloudtrail
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'StopEventDataStoreIngestion')
ORDER BY eventtime, eventid
