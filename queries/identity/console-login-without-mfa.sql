-- id: console-login-without-mfa
-- title: Console sign-in without MFA
-- severity: medium
-- expect: none
-- tags: identity, signin, mfa, attack.initial-access, attack.t1078.004
-- description: A successful AWS console sign-in by an IAM user or the root user with
--   additionalEventData.MFAUsed = 'No'. Federated and IAM Identity Center sign-ins (which
--   appear as AssumedRole or FederatedUser) are left out: their MFA happens at the
--   identity provider, outside AWS, so CloudTrail always says 'No' for them. Failed
--   sign-ins are left out (see console-login-failures).
SELECT eventtime, actor, actor_kind,
       useridentity_username AS username,
       additionalEventData.LoginTo AS login_to,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'signin.amazonaws.com'
  AND eventname = 'ConsoleLogin'
  AND responseElements.ConsoleLogin = 'Success'
  AND additionalEventData.MFAUsed = 'No'
  AND useridentity_type IN ('IAMUser', 'Root')
ORDER BY eventtime, eventid
