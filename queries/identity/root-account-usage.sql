-- id: root-account-usage
-- title: Root user activity
-- severity: high
-- expect: none
-- tags: identity, root, attack.privilege-escalation, attack.initial-access, attack.t1078.004
-- description: A request made with the account's root user credentials: a console
--   sign-in, a root access key, a root console session. AWS service events recorded under
--   the root identity (eventtype AwsServiceEvent, e.g. CredentialVerification) and calls an
--   AWS service made on the root user's behalf (userIdentity.invokedBy set) are left out.
--   Failed calls and failed sign-ins are kept: errorcode and console_login show the outcome.
SELECT eventtime, actor, credential_kind,
       useridentity_accesskeyid AS access_key_id,
       eventsource, eventname, eventtype,
       responseElements.ConsoleLogin AS console_login,
       additionalEventData.MFAUsed AS mfa_used,
       sourceipaddress, useragent, awsregion, recipientaccountid,
       errorcode, errormessage, eventid
FROM cloudtrail
WHERE useridentity_type = 'Root'
  AND (eventtype IS NULL OR eventtype <> 'AwsServiceEvent')
  AND useridentity_invokedby IS NULL
ORDER BY eventtime, eventid
