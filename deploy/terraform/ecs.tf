# The storekeep nodes on ECS Fargate behind the load balancer, a one-off
# migrate task, and autoscaling on CPU and on requests per node.
#
# Settings: every STOREKEEP_* name below is a setting storekeep reads
# (scripts/check-deploy.d/settings_check.py checks this file against the
# code's KEYS); docs/configuration.md explains each. Secrets come from
# Secrets Manager (secrets.tf) as environment variables.
#
# Shutdown, matched to storekeep's own drain (docs/operations.md, Graceful
# shutdown): ECS first takes a leaving task out of the target group and
# waits the deregistration delay (drain_secs + grace_secs, lb.tf), then
# sends SIGTERM: readiness 503 for drain_secs, then up to grace_secs for
# requests in flight; stopTimeout (drain + grace + 10 s margin, at most
# Fargate's 120 s) is when ECS would SIGKILL.

locals {
  stop_timeout = var.drain_secs + var.grace_secs + 10

  environment = [
    { name = "STOREKEEP_LISTEN", value = "0.0.0.0:8080" },
    { name = "STOREKEEP_DATA_DIR", value = "/data" },
    { name = "STOREKEEP_BASE_DOMAIN", value = var.base_domain },
    { name = "STOREKEEP_WEB_PUBLIC_URL_SCHEME", value = "https" },
    # The load balancer's nodes live in the public subnets: only their
    # X-Forwarded-For / X-Forwarded-Proto are believed.
    { name = "STOREKEEP_HTTP_TRUSTED_PROXIES", value = join(",", local.public_subnets) },
    { name = "STOREKEEP_LOG_FORMAT", value = "json" },
    { name = "STOREKEEP_LOG_LEVEL", value = var.log_level },
    { name = "STOREKEEP_DATABASE_MAX_CONNECTIONS", value = tostring(var.database_pool_size) },
    { name = "STOREKEEP_SHUTDOWN_DRAIN_SECS", value = tostring(var.drain_secs) },
    { name = "STOREKEEP_SHUTDOWN_GRACE_SECS", value = tostring(var.grace_secs) },
    { name = "STOREKEEP_MEDIA_S3_BUCKET", value = aws_s3_bucket.data["media"].id },
    { name = "STOREKEEP_MEDIA_S3_REGION", value = var.region },
    { name = "STOREKEEP_BACKUP_S3_BUCKET", value = aws_s3_bucket.data["backups"].id },
    { name = "STOREKEEP_BACKUP_S3_REGION", value = var.region },
    { name = "STOREKEEP_BACKUP_S3_PREFIX", value = local.backup_prefix },
    { name = "STOREKEEP_BACKUP_RECIPIENTS", value = var.backup_recipients },
    { name = "STOREKEEP_BACKUP_SCHEDULE", value = var.backup_schedule },
    { name = "STOREKEEP_MAIL_TRANSPORT", value = "smtp" },
    { name = "STOREKEEP_MAIL_FROM", value = var.mail_from },
    { name = "TMPDIR", value = "/data" },
  ]

  # The catalog reads go to the RDS read replica (database.replica_url;
  # reads fall back to the primary when it lags or is down).
  secrets = [
    { name = "STOREKEEP_DATABASE_URL", valueFrom = aws_secretsmanager_secret.database_url.arn },
    { name = "STOREKEEP_DATABASE_REPLICA_URL", valueFrom = aws_secretsmanager_secret.database_replica_url.arn },
    { name = "STOREKEEP_REDIS_URL", valueFrom = aws_secretsmanager_secret.redis_url.arn },
    { name = "STOREKEEP_PLATFORM_TOKEN", valueFrom = aws_secretsmanager_secret.operator["platform_token"].arn },
    { name = "STOREKEEP_ENCRYPTION_KEYS", valueFrom = aws_secretsmanager_secret.operator["encryption_keys"].arn },
    { name = "STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY", valueFrom = aws_secretsmanager_secret.operator["encryption_blind_index_key"].arn },
    { name = "STOREKEEP_MAIL_SMTP_URL", valueFrom = aws_secretsmanager_secret.operator["mail_smtp_url"].arn },
  ]

  # The image's root file system stays read-only; storekeep writes only
  # DATA_DIR (scratch on PostgreSQL + S3: backup staging) on the task's
  # ephemeral storage, as the Kubernetes manifests' emptyDir. The image
  # declares VOLUME /data owned by its user 65532, and Fargate copies a
  # VOLUME path into the bind mount of the same path, so the user can write
  # it. Temporary files (pg_dump's error output) go there too: TMPDIR below,
  # since a bind mount on /tmp would be root's.
  mount_points = [
    { sourceVolume = "data", containerPath = "/data", readOnly = false },
  ]
}

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_338:Retention is var.log_retention_days, 90 by default: the logs hold client IPs and masked emails (docs/privacy.md), so they are kept as long as operations need, not a year by rote
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_ecs_task_definition" "app" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([
    {
      name      = "storekeep"
      image     = var.image
      essential = true
      command   = var.migrate_on_start ? ["serve"] : ["serve", "--no-migrate"]
      user      = "65532:65532"

      portMappings = [{ containerPort = 8080, protocol = "tcp" }]

      environment = local.environment
      secrets     = local.secrets

      readonlyRootFilesystem = true
      mountPoints            = local.mount_points
      linuxParameters = {
        capabilities = { drop = ["ALL"] }
      }

      # The image has no shell or curl: its own probe, as the Dockerfile's
      # HEALTHCHECK (docs/operations.md, Health). Liveness only; the load
      # balancer asks readiness. startPeriod covers migrations at start-up.
      healthCheck = {
        command     = ["CMD", "/usr/local/bin/storekeep", "healthcheck"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 120
      }

      stopTimeout = local.stop_timeout

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "node"
          # storekeep never blocks on its log (it drops and counts lines
          # instead, log.queue_lines); neither should the log driver.
          mode            = "non-blocking"
          max-buffer-size = "25m"
        }
      }
    }
  ])

  lifecycle {
    precondition {
      condition     = local.stop_timeout <= 120
      error_message = "drain_secs + grace_secs + 10 must be at most 120 s, Fargate's longest stop timeout."
    }
  }
}

# `storekeep migrate`, run once per release before the nodes need it when
# migrate_on_start is false (output migrate_command), or by hand. The same
# settings as a node, so it reaches the same database; no port, no health
# check.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${local.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([
    {
      name      = "storekeep"
      image     = var.image
      essential = true
      command   = ["migrate"]
      user      = "65532:65532"

      environment = local.environment
      secrets     = local.secrets

      readonlyRootFilesystem = true
      mountPoints            = local.mount_points
      linuxParameters = {
        capabilities = { drop = ["ALL"] }
      }

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "migrate"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "app" {
  name                               = local.name
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.app.arn
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  desired_count                      = var.min_tasks
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  # Readiness fails while a node migrates or waits for migrations: give a
  # new task this long before the balancer's checks count against it.
  health_check_grace_period_seconds = 180
  enable_execute_command            = false
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.app[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = "storekeep"
    container_port   = 8080
  }

  # A release whose tasks never become healthy is rolled back by itself.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    # Autoscaling owns the count once the service exists.
    ignore_changes = [desired_count]

    # Each node holds on the primary its pool (database_pool_size), the
    # readiness check's connection and the replica lag monitor's; on the
    # replica its replica pool (the same size) and the monitor's. Both
    # instances use the same parameter group (max_connections), so the
    # primary's sum, the larger, is the one to check. A rollout starts the
    # new tasks before it stops the old ones, and an old task keeps its
    # pool while the balancer drains it (ECS no longer counts it against
    # deployment_maximum_percent then), so at max_tasks up to twice as
    # many tasks hold pools at once, busy ones if the rollout meets a
    # rush. A migrate task holds its migration connection and its own lag
    # monitor's.
    precondition {
      condition     = 2 * var.max_tasks * (var.database_pool_size + 2) + 2 + 10 <= var.database_max_connections
      error_message = "2 x max_tasks (old and new tasks in a rollout) x (database_pool_size + 2) + 2 (a migrate task) + 10 (operators) exceeds database_max_connections: raise it or lower the others."
    }

    precondition {
      condition     = var.min_tasks <= var.max_tasks
      error_message = "min_tasks must not exceed max_tasks."
    }
  }

  depends_on = [aws_lb_listener.https]
}

# --- autoscaling ---------------------------------------------------------------------

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.cpu_target_percent
    # Out fast, in slowly (each scale-in drains a node).
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${local.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_task_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    }
  }
}
