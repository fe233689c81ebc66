-- id: kinesis-shard-lineage
-- title: Kinesis shard lineage (splits, merges and reshards)
-- severity: info
-- expect: none
-- tags: kinesis, lineage, capacity
-- description: Every successful resharding of a Kinesis data stream, in order per stream, with
--   the shard ids from the request: SplitShard splits parent_shard at new_starting_hash_key,
--   MergeShards merges parent_shard with adjacent_shard, UpdateShardCount reshards the whole
--   stream to target_shard_count (CloudTrail does not log the child shard ids). Read it to
--   rebuild which shards a stream had when, e.g. to find which shard held a record.
SELECT
  recipientaccountid,
  awsregion,
  COALESCE(requestParameters.streamName, split_part(requestParameters.streamARN, '/', 2)) AS stream_name,
  eventtime,
  eventname,
  CASE eventname
    WHEN 'SplitShard' THEN requestParameters.shardToSplit
    WHEN 'MergeShards' THEN requestParameters.shardToMerge
  END AS parent_shard,
  requestParameters.adjacentShardToMerge AS adjacent_shard,
  requestParameters.newStartingHashKey AS new_starting_hash_key,
  requestParameters.targetShardCount AS target_shard_count,
  actor,
  actor_kind,
  sourceipaddress
FROM cloudtrail
WHERE eventsource = 'kinesis.amazonaws.com'
  AND eventname IN ('SplitShard', 'MergeShards', 'UpdateShardCount')
  AND errorcode IS NULL
ORDER BY recipientaccountid, awsregion, stream_name, eventtime, eventname;
