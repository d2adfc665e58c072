# What the operator needs after an apply: where to point DNS, which secrets
# to fill, how to run a migration, and the endpoints.

output "load_balancer_dns_name" {
  description = "Point BASE_DOMAIN and *.BASE_DOMAIN here (CNAME, or a Route 53 alias with load_balancer_zone_id); shops on their own domains too."
  value       = aws_lb.main.dns_name
}

output "load_balancer_zone_id" {
  description = "Hosted zone of the load balancer, for Route 53 alias records."
  value       = aws_lb.main.zone_id
}

output "operator_secret_arns" {
  description = "Secrets Terraform leaves empty: put each value once (README.md, First apply) before the nodes can start."
  value       = { for k, s in aws_secretsmanager_secret.operator : k => s.arn }
}

output "ecs_cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.main.name
}

output "ecs_service_name" {
  description = "The storekeep service."
  value       = aws_ecs_service.app.name
}

output "migrate_command" {
  description = "Runs `storekeep migrate` once with the current image (README.md, Migrations); follow it with `aws ecs wait tasks-stopped` and check the exit code."
  value = join(" ", [
    "aws ecs run-task",
    "--region ${var.region}",
    "--cluster ${aws_ecs_cluster.main.name}",
    "--task-definition ${aws_ecs_task_definition.migrate.arn}",
    "--launch-type FARGATE",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", aws_subnet.app[*].id)}],securityGroups=[${aws_security_group.tasks.id}],assignPublicIp=DISABLED}'",
    "--query 'tasks[0].taskArn' --output text",
  ])
}

output "log_group_name" {
  description = "CloudWatch Logs group of the nodes (stream prefix node/) and the migrate task (migrate/)."
  value       = aws_cloudwatch_log_group.app.name
}

output "media_bucket" {
  description = "storekeep's media.s3_bucket."
  value       = aws_s3_bucket.data["media"].id
}

output "backups_bucket" {
  description = "storekeep's backup.s3_bucket (backups under backup_prefix)."
  value       = aws_s3_bucket.data["backups"].id
}

output "backup_prefix" {
  description = "storekeep's backup.s3_prefix."
  value       = local.backup_prefix
}

output "database_endpoint" {
  description = "The RDS primary (host:port)."
  value       = aws_db_instance.primary.endpoint
}

# The nodes read the catalog from the replica (STOREKEEP_DATABASE_REPLICA_URL
# in ecs.tf, from the secret below).
output "database_replica_endpoint" {
  description = "The RDS read replica (host:port); its URL is in the secret database_replica_url_secret_arn."
  value       = aws_db_instance.replica.endpoint
}

output "database_replica_url_secret_arn" {
  description = "Secret holding the replica's postgres:// URL, passed to the nodes as STOREKEEP_DATABASE_REPLICA_URL."
  value       = aws_secretsmanager_secret.database_replica_url.arn
}

output "redis_endpoint" {
  description = "The ElastiCache primary endpoint."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "kms_key_arn" {
  description = "The key everything at rest is encrypted with."
  value       = aws_kms_key.main.arn
}
