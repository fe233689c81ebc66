-- id: iam-policy-attached-to-self
-- title: IAM permissions granted to the caller itself
-- severity: high
-- expect: none
-- tags: tampering, iam, attack.privilege-escalation, attack.persistence, attack.t1098.003
-- description: A principal widened its own permissions: an IAM user calling
--   AttachUserPolicy, PutUserPolicy or AddUserToGroup on its own user name, or a role
--   session calling AttachRolePolicy or PutRolePolicy on the role it is a session of
--   (userIdentity.sessionContext.sessionIssuer.userName). Legitimate administrators rarely
--   do this; privilege-escalation paths (iam:AttachUserPolicy on self) do. Failed
--   attempts are reported too, with errorcode: a denied self-grant is a probing attacker.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       coalesce(requestParameters.userName, requestParameters.roleName) AS target,
       requestParameters.policyArn AS policy_arn,
       requestParameters.policyName AS policy_name,
       requestParameters.groupName AS group_name,
       sourceipaddress, useragent, awsregion, recipientaccountid,
       errorcode, eventid
FROM cloudtrail
WHERE eventsource = 'iam.amazonaws.com'
  AND (
    (eventname IN ('AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup')
     AND useridentity_type = 'IAMUser'
     AND requestParameters.userName = useridentity_username)
    OR
    (eventname IN ('AttachRolePolicy', 'PutRolePolicy')
     AND useridentity_type = 'AssumedRole'
     AND requestParameters.roleName = useridentity_sessioncontext_sessionissuer_username)
  )
ORDER BY eventtime, eventid
