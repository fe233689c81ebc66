-- id: guardduty-detector-disabled
-- title: GuardDuty detector deleted, suspended or detached
-- severity: high
-- expect: none
-- tags: tampering, guardduty, attack.defense-evasion, attack.t1562.001
-- description: A successful GuardDuty call that stops threat detection: DeleteDetector,
--   UpdateDetector with enable = false (suspend), StopMonitoringMembers, or a member
--   account leaving its administrator (DisassociateFromAdministratorAccount,
--   DisassociateFromMasterAccount). Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       requestParameters.detectorId AS detector_id,
       requestParameters.accountIds AS member_account_ids,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'guardduty.amazonaws.com'
  AND errorcode IS NULL
  AND (
    eventname IN ('DeleteDetector', 'StopMonitoringMembers',
                  'DisassociateFromAdministratorAccount', 'DisassociateFromMasterAccount')
    OR (eventname = 'UpdateDetector' AND requestParameters.enable = 'false')
  )
ORDER BY eventtime, eventid
