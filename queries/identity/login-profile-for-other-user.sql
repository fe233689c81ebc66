-- id: login-profile-for-other-user
-- title: Console password set for another IAM user
-- severity: medium
-- expect: none
-- tags: identity, iam, attack.persistence, attack.t1098
-- description: A successful iam:CreateLoginProfile or iam:UpdateLoginProfile that gives
--   another IAM user a console password (target_user differs from the caller; role
--   sessions and root always act on someone else). An attacker with IAM rights uses it to
--   gain console access as an existing or freshly created user. A user resetting its own
--   password is left out, and so are failed calls (no password was set).
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       requestParameters.userName AS target_user,
       requestParameters.passwordResetRequired AS password_reset_required,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile')
  AND errorcode IS NULL
  AND requestParameters.userName IS NOT NULL
  AND ((useridentity_type IS DISTINCT FROM 'IAMUser')
       OR (requestParameters.userName IS DISTINCT FROM useridentity_username))
ORDER BY eventtime, eventid
