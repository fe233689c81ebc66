-- id: access-key-created
-- title: IAM access key created
-- severity: medium
-- expect: none
-- tags: identity, iam, access-key, attack.persistence, attack.t1098.001
-- description: A successful iam:CreateAccessKey. key_user is the user the new long-term
--   key belongs to ('root' for a root access key); for_other_user is true when the caller
--   created the key for a user other than itself (an admin, a role session or root making
--   a key for an IAM user), the classic way to backdoor an account. Failed attempts
--   (errorcode set) are left out: they create no key.
SELECT eventtime, actor, actor_kind, credential_kind,
       CASE
         WHEN requestParameters.userName IS NOT NULL THEN requestParameters.userName
         WHEN useridentity_type = 'Root' THEN 'root'
         ELSE coalesce(responseElements.accessKey.userName, useridentity_username)
       END AS key_user,
       (requestParameters.userName IS NOT NULL
        AND ((useridentity_type IS DISTINCT FROM 'IAMUser')
             OR (requestParameters.userName IS DISTINCT FROM useridentity_username))) AS for_other_user,
       responseElements.accessKey.accessKeyId AS new_access_key_id,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname = 'CreateAccessKey'
  AND errorcode IS NULL
ORDER BY eventtime, eventid
