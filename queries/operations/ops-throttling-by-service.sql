-- id: ops-throttling-by-service
-- title: Throttled API calls by service, action and region
-- severity: info
-- expect: none
-- tags: operations, report, throttling
-- params: since=30d
-- description: Calls refused for rate or throughput limits since `since`, grouped by service,
--   action and region: ThrottlingException, Throttling, ThrottledException,
--   TooManyRequestsException, RequestLimitExceeded (EC2), ProvisionedThroughputExceededException
--   (Kinesis, DynamoDB), SlowDown (S3), RequestThrottled, PriorRequestNotComplete, and a
--   LimitExceededException whose message says "rate exceeded" (Kinesis control plane; other
--   LimitExceededExceptions are quotas, not throttling). Many throttles from few callers is
--   a runaway loop; from many callers, a limit to raise.
SELECT
  eventsource,
  eventname,
  awsregion,
  count(*) AS throttled,
  count(DISTINCT actor) AS callers,
  string_agg(DISTINCT errorcode, ', ' ORDER BY errorcode) AS error_codes,
  min(eventtime) AS first_seen,
  max(eventtime) AS last_seen
FROM cloudtrail
WHERE eventtime >= ${since}
  AND (
    errorcode IN (
      'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException',
      'RequestLimitExceeded', 'Client.RequestLimitExceeded', 'ProvisionedThroughputExceededException',
      'SlowDown', 'RequestThrottled', 'RequestThrottledException', 'PriorRequestNotComplete'
    )
    OR (errorcode = 'LimitExceededException' AND lower(errormessage) LIKE '%rate exceeded%')
  )
GROUP BY eventsource, eventname, awsregion
ORDER BY throttled DESC, eventsource, eventname, awsregion;
