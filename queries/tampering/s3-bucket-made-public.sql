-- id: s3-bucket-made-public
-- title: S3 bucket policy or ACL grants public access
-- severity: high
-- expect: none
-- tags: tampering, s3, attack.exfiltration, attack.defense-evasion, attack.t1530
-- description: A successful s3:PutBucketPolicy with an Allow statement whose Principal is
--   "*" (or {"AWS": "*"}), or a successful s3:PutBucketAcl that grants the AllUsers or
--   AuthenticatedUsers group (grant, x-amz-grant-* header or a public-read,
--   public-read-write or authenticated-read canned ACL). A Deny statement with
--   Principal "*" (e.g. deny insecure transport) does not count. An Allow-to-"*" statement
--   may still be narrowed by a Condition (aws:SourceVpce, aws:PrincipalOrgID): check the
--   request column. Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       requestParameters.bucketName AS bucket,
       CASE
         WHEN eventname = 'PutBucketPolicy' THEN 'policy allows Principal *'
         WHEN requestparameters LIKE '%acs.amazonaws.com/groups/global/AllUsers%'
           OR regexp_like(requestparameters, '"x-amz-acl"\s*:\s*\[?\s*"public-read', 'i')
           THEN 'ACL grants AllUsers'
         ELSE 'ACL grants AuthenticatedUsers'
       END AS exposure,
       requestparameters AS request,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 's3.amazonaws.com'
  AND errorcode IS NULL
  AND (
    (eventname = 'PutBucketPolicy'
     -- json_path re-serialises the policy compactly with sorted keys, so inside one
     -- statement "Effect" is followed by "NotAction"/"NotResource" (if any), then "Principal".
     AND regexp_like(json_path(requestparameters, 'bucketPolicy'),
                     '"Effect":"Allow"(,"Not(Action|Resource)":("[^"]*"|\[[^\]]*\]))*,"Principal":("\*"|\{"AWS":("\*"|\[("[^"]*",)*"\*"))'))
    OR
    (eventname = 'PutBucketAcl'
     AND (requestparameters LIKE '%acs.amazonaws.com/groups/global/AllUsers%'
          OR requestparameters LIKE '%acs.amazonaws.com/groups/global/AuthenticatedUsers%'
          OR regexp_like(requestparameters,
                         '"x-amz-acl"\s*:\s*\[?\s*"(public-read|public-read-write|authenticated-read)"',
                         'i')))
  )
ORDER BY eventtime, eventid
