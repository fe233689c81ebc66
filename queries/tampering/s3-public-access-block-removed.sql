-- id: s3-public-access-block-removed
-- title: S3 Block Public Access removed or weakened
-- severity: high
-- expect: none
-- tags: tampering, s3, attack.defense-evasion, attack.exfiltration, attack.t1562
-- description: A successful DeleteBucketPublicAccessBlock or DeleteAccountPublicAccessBlock,
--   or a PutBucketPublicAccessBlock / PutAccountPublicAccessBlock that sets any of
--   BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy or RestrictPublicBuckets to false.
--   With those protections off, a public bucket policy or ACL takes effect. scope says
--   whether one bucket or the whole account was affected. Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       CASE WHEN eventname LIKE '%Account%' THEN 'account' ELSE 'bucket' END AS scope,
       requestParameters.bucketName AS bucket,
       json_path(requestparameters, 'PublicAccessBlockConfiguration') AS new_configuration,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 's3.amazonaws.com'
  AND errorcode IS NULL
  AND (
    eventname IN ('DeleteBucketPublicAccessBlock', 'DeleteAccountPublicAccessBlock')
    OR (eventname IN ('PutBucketPublicAccessBlock', 'PutAccountPublicAccessBlock')
        AND regexp_like(requestparameters,
                        '"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)"\s*:\s*"?false',
                        'i'))
  )
ORDER BY eventtime, eventid
