# Redis (ElastiCache, Redis OSS): a primary and a replica in the other zone
# with automatic failover, encrypted at rest with the main key, an AUTH
# token, reachable from the tasks only. storekeep keeps rate-limit counters
# and cache-invalidation messages in it, nothing that needs keeping: no
# snapshots (deploy/compose.scale.yaml runs its Redis without persistence
# too).

resource "aws_elasticache_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.data[*].id
}

resource "random_password" "redis" {
  # AUTH tokens: 16 to 128 printable characters; letters and digits keep
  # the URL free of characters to escape.
  length  = 48
  special = false
}

resource "aws_cloudwatch_log_group" "redis" {
  # checkov:skip=CKV_AWS_338:Kept var.log_retention_days (90 by default) like the nodes' logs: slow-log entries name rate-limit keys, which carry client IPs (docs/privacy.md), so not a year by rote
  name              = "/aws/elasticache/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.name
  description          = "storekeep: rate limits and cache invalidation"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = "default.redis7"

  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn

  # In-transit encryption is on (the AUTH token needs it); "required"
  # refuses plain connections: see var.datastore_tls_required.
  transit_encryption_enabled = true
  transit_encryption_mode    = var.datastore_tls_required ? "required" : "preferred"
  auth_token                 = random_password.redis.result
  auth_token_update_strategy = "ROTATE"

  # No snapshots: a restore would bring back stale counters, never data,
  # and storekeep runs on without Redis (docs/operations.md, Redis outages).
  snapshot_retention_limit   = 0
  auto_minor_version_upgrade = true
  maintenance_window         = "sun:05:30-sun:06:30"
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
