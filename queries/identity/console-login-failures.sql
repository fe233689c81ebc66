-- id: console-login-failures
-- title: Failed console sign-ins by user and source IP
-- severity: low
-- expect: none
-- tags: identity, signin, attack.credential-access, attack.t1110
-- params: min_failures=1
-- description: Failed AWS console sign-ins (responseElements.ConsoleLogin = 'Failure'),
--   one row per user name, identity kind, source IP and account, with the number of
--   failures and the first and last failure. A user name AWS could not match is logged
--   as HIDDEN_DUE_TO_SECURITY_REASONS; a root failure shows the root ARN. Raise
--   min_failures (e.g. --param min_failures=5) to keep only brute-force-like bursts.
SELECT coalesce(useridentity_username, actor, useridentity_principalid) AS username,
       actor_kind,
       sourceipaddress,
       recipientaccountid,
       count(*) AS failures,
       min(eventtime) AS first_failure,
       max(eventtime) AS last_failure,
       max(errormessage) AS error_message
FROM cloudtrail
WHERE eventsource = 'signin.amazonaws.com'
  AND eventname = 'ConsoleLogin'
  AND responseElements.ConsoleLogin = 'Failure'
GROUP BY coalesce(useridentity_username, actor, useridentity_principalid),
         actor_kind, sourceipaddress, recipientaccountid
HAVING count(*) >= ${min_failures}
ORDER BY failures DESC, username, sourceipaddress, recipientaccountid
