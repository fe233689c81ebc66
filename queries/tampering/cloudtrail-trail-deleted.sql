-- id: cloudtrail-trail-deleted
-- title: CloudTrail trail or event data store deleted
-- severity: high
-- expect: none
-- tags: tampering, cloudtrail, attack.defense-evasion, attack.t1562.008
-- description: cloudtrail:DeleteTrail, or cloudtrail:DeleteEventDataStore for CloudTrail
--   Lake. Attempts are reported whether they succeeded or not (errorcode empty = the
--   trail is gone; AccessDenied = someone tried; TrailNotFoundException = the name was
--   wrong, still worth a look).
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       coalesce(requestParameters.name, requestParameters.eventDataStore) AS trail,
       sourceipaddress, useragent, awsregion, recipientaccountid,
       errorcode, errormessage, eventid
FROM cloudtrail
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('DeleteTrail', 'DeleteEventDataStore')
ORDER BY eventtime, eventid
