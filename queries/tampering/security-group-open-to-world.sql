-- id: security-group-open-to-world
-- title: Security group ingress opened to the whole internet
-- severity: high
-- expect: none
-- tags: tampering, ec2, network, attack.defense-evasion, attack.initial-access, attack.t1562.007
-- description: A successful ec2:AuthorizeSecurityGroupIngress whose request allows a /0
--   source (0.0.0.0/0, ::/0): a cidrIp or cidrIpv6 value ending in /0, found anywhere in
--   the request (ipPermissions.items[].ipRanges.items[].cidrIp, ipv6Ranges, or the
--   flat cidrIp of the older call form). The full request is in the request column
--   (ports, protocol). Failed calls (e.g. InvalidPermission.Duplicate) are left out.
SELECT eventtime, actor, actor_kind, credential_kind,
       requestParameters.groupId AS group_id,
       requestParameters.groupName AS group_name,
       requestparameters AS request,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'ec2.amazonaws.com'
  AND eventname = 'AuthorizeSecurityGroupIngress'
  AND errorcode IS NULL
  AND regexp_like(requestparameters, '"cidrIp(v6)?"\s*:\s*"[^"]*/0"', 'i')
ORDER BY eventtime, eventid
