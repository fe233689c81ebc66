-- id: access-key-new-source-ip
-- title: Long-term access key used from a new source IP
-- severity: medium
-- expect: none
-- tags: identity, access-key, attack.initial-access, attack.credential-access, attack.t1078.004
-- params: since=1d, lookback=30d
-- description: A long-term access key (AKIA...) used from a source IP address at or after
--   since that the same key had not used anywhere in the baseline window [lookback,
--   since). Only keys with baseline activity are reported: a key first seen after since
--   has no history to compare with (see access-key-created). Calls an AWS service made
--   on the key's behalf (invokedBy set, source 'AWS Internal' or '*.amazonaws.com') are
--   ignored. Failed calls count as use: whoever holds the key is at that IP either way;
--   failed_events says how many failed. Temporary keys (ASIA...) are not considered.
--   Run it over at least the lookback window of logs.
WITH uses AS (
  SELECT useridentity_accesskeyid AS access_key_id,
         sourceipaddress, eventtime, eventid, actor, actor_kind,
         eventsource, eventname, useragent, awsregion, recipientaccountid, errorcode,
         row_number() OVER (PARTITION BY useridentity_accesskeyid, sourceipaddress
                            ORDER BY eventtime, eventid) AS nth
  FROM cloudtrail
  WHERE useridentity_accesskeyid LIKE 'AKIA%'
    AND eventtime >= ${lookback}
    AND useridentity_invokedby IS NULL
    AND sourceipaddress IS NOT NULL
    AND sourceipaddress <> 'AWS Internal'
    AND sourceipaddress NOT LIKE '%.amazonaws.com'
),
baseline AS (
  SELECT access_key_id,
         min(eventtime) AS key_first_seen,
         count(DISTINCT sourceipaddress) AS known_ips
  FROM uses
  WHERE eventtime < ${since}
  GROUP BY access_key_id
),
new_ips AS (
  SELECT access_key_id, sourceipaddress,
         min(eventtime) AS first_seen,
         max(eventtime) AS last_seen,
         count(*) AS events,
         count(errorcode) AS failed_events
  FROM uses
  GROUP BY access_key_id, sourceipaddress
  HAVING min(eventtime) >= ${since}
)
SELECT n.first_seen, u.actor, u.actor_kind, n.access_key_id, n.sourceipaddress,
       u.eventsource AS first_eventsource, u.eventname AS first_eventname,
       u.useragent AS first_useragent, u.awsregion, u.recipientaccountid,
       n.events, n.failed_events, n.last_seen,
       b.key_first_seen, b.known_ips, u.eventid AS first_eventid
FROM new_ips n
JOIN baseline b ON b.access_key_id = n.access_key_id
JOIN uses u ON u.access_key_id = n.access_key_id
           AND u.sourceipaddress = n.sourceipaddress
           AND u.nth = 1
ORDER BY n.first_seen, n.access_key_id, n.sourceipaddress
