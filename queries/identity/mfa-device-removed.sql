-- id: mfa-device-removed
-- title: MFA device deactivated or deleted
-- severity: medium
-- expect: none
-- tags: identity, iam, mfa, attack.defense-evasion, attack.persistence, attack.t1556.006
-- description: A successful iam:DeactivateMFADevice (MFA taken off a user, or off root
--   when target_user is empty and the actor is root) or iam:DeleteVirtualMFADevice.
--   Removing MFA weakens sign-in and lets an attacker enrol a device of their own.
--   Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       requestParameters.userName AS target_user,
       requestParameters.serialNumber AS mfa_serial_number,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice')
  AND errorcode IS NULL
ORDER BY eventtime, eventid
