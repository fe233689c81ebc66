-- id: console-login-off-hours
-- title: Console sign-ins outside working hours
-- severity: low
-- expect: none
-- tags: identity, signin, attack.initial-access, attack.t1078
-- params: since=30d, first_hour=7, last_hour=19
-- description: Successful AWS console sign-ins at night or at the weekend, in UTC:
--   before first_hour, at or after last_hour, or on a Saturday or Sunday. One row per
--   sign-in, with who, from where, and whether MFA was used. Set the hours to the
--   team's working day in UTC (--param first_hour=6 --param last_hour=18).
SELECT eventtime,
       date_format(eventtime, '%W %H:%i') AS local_time_utc,
       coalesce(useridentity_username, actor) AS username,
       actor_kind,
       sourceipaddress,
       recipientaccountid,
       additionalEventData.MFAUsed AS mfa_used
FROM cloudtrail
WHERE eventsource = 'signin.amazonaws.com'
  AND eventname = 'ConsoleLogin'
  AND responseElements.ConsoleLogin = 'Success'
  AND eventtime >= ${since}
  AND (hour(eventtime) < ${first_hour} OR hour(eventtime) >= ${last_hour}
       OR day_of_week(eventtime) >= 6)
ORDER BY eventtime, username
