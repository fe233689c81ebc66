-- id: assumed-role-chain
-- title: Role chaining: a role session assumed another role
-- severity: low
-- expect: none
-- tags: identity, sts, attack.lateral-movement, attack.privilege-escalation, attack.t1078.004
-- description: sts:AssumeRole called with the temporary credentials of an assumed-role
--   session (userIdentity.type = 'AssumedRole'): from_role -> to_role. Role chaining is
--   how a foothold in one role moves to others, in this account or (cross_account) another.
--   Failed attempts are kept, with errorcode: AWS logs a denied AssumeRole with
--   requestParameters null, so to_role is then read from the error message.
SELECT eventtime,
       actor AS from_role,
       useridentity_arn AS from_session,
       coalesce(requestParameters.roleArn,
                regexp_match(errormessage, 'on resource: (arn:[^ ]+)')[1]) AS to_role,
       requestParameters.roleSessionName AS to_session_name,
       responseElements.assumedRoleUser.arn AS to_session,
       split_part(coalesce(requestParameters.roleArn,
                           regexp_match(errormessage, 'on resource: (arn:[^ ]+)')[1]), ':', 5)
         <> useridentity_accountid AS cross_account,
       credential_kind, sourceipaddress, useragent, awsregion, recipientaccountid,
       errorcode, eventid
FROM cloudtrail
WHERE eventsource = 'sts.amazonaws.com'
  AND eventname = 'AssumeRole'
  AND useridentity_type = 'AssumedRole'
ORDER BY eventtime, eventid
