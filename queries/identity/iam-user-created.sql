-- id: iam-user-created
-- title: IAM user created
-- severity: low
-- expect: none
-- tags: identity, iam, attack.persistence, attack.t1136.003
-- description: A successful iam:CreateUser. New IAM users are a common persistence step
--   (often followed by CreateAccessKey or CreateLoginProfile and a policy attachment);
--   review who created the user and from where. Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind,
       requestParameters.userName AS new_user,
       -- "user" is quoted: unquoted, the parser reads it as the USER function
       responseElements."user".arn AS new_user_arn,
       requestParameters.path AS path,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname = 'CreateUser'
  AND errorcode IS NULL
ORDER BY eventtime, eventid
