-- id: config-recording-stopped
-- title: AWS Config recording stopped or removed
-- severity: high
-- expect: none
-- tags: tampering, config, attack.defense-evasion, attack.t1562.001
-- description: A successful config:StopConfigurationRecorder, DeleteConfigurationRecorder or
--   DeleteDeliveryChannel: AWS Config stops recording resource changes (or stops delivering
--   them), so configuration drift and compliance evidence go missing. Failed calls are
--   left out.
SELECT eventtime, actor, actor_kind, credential_kind, eventname,
       coalesce(requestParameters.configurationRecorderName,
                requestParameters.deliveryChannelName) AS recorder_or_channel,
       sourceipaddress, useragent, awsregion, recipientaccountid, eventid
FROM cloudtrail
WHERE eventsource = 'config.amazonaws.com'
  AND eventname IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder',
                    'DeleteDeliveryChannel')
  AND errorcode IS NULL
ORDER BY eventtime, eventid
