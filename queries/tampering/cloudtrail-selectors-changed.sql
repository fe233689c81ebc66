-- id: cloudtrail-selectors-changed
-- title: CloudTrail event or Insights selectors changed
-- severity: medium
-- expect: none
-- tags: tampering, cloudtrail, attack.defense-evasion, attack.t1562.008
-- description: Every successful cloudtrail:PutEventSelectors and PutInsightSelectors:
--   selectors decide what a trail records, so narrowing them hides activity without
--   stopping the trail. possible_reduction flags the usual ways to log less: management
--   events off (includeManagementEvents false), only ReadOnly or only WriteOnly calls,
--   excludeManagementEventSources set, advanced selectors with a not-equals/not-starts-with
--   or readOnly condition or without an eventCategory = Management selector, and
--   Insights selectors emptied. It is a heuristic over the new settings only (the old
--   ones are not in the event): review every row. Failed calls are left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       requestParameters.trailName AS trail,
       CASE
         WHEN eventname = 'PutInsightSelectors' THEN
           NOT regexp_like(coalesce(json_path(requestparameters, 'insightSelectors'), '[]'),
                           'insightType', 'i')
         ELSE
           regexp_like(coalesce(json_path(requestparameters, 'eventSelectors'), ''),
                       '"includeManagementEvents":false|"readWriteType":"(ReadOnly|WriteOnly)"|"excludeManagementEventSources":\["',
                       'i')
           OR regexp_like(coalesce(json_path(requestparameters, 'advancedEventSelectors'), ''),
                          '"not(equals|startswith|endswith)":|"field":"readOnly"', 'i')
           OR (json_path(requestparameters, 'advancedEventSelectors') IS NOT NULL
               AND NOT regexp_like(json_path(requestparameters, 'advancedEventSelectors'),
                                   '"field":"eventCategory","equals":\["Management"\]|"equals":\["Management"\],"field":"eventCategory"',
                                   'i'))
       END AS possible_reduction,
       json_path(requestparameters, 'eventSelectors') AS event_selectors,
       json_path(requestparameters, 'advancedEventSelectors') AS advanced_event_selectors,
       json_path(requestparameters, 'insightSelectors') AS insight_selectors,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('PutEventSelectors', 'PutInsightSelectors')
  AND errorcode IS NULL
ORDER BY eventtime, eventid
