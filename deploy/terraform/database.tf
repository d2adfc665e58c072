# PostgreSQL 17 on RDS: the primary (Multi-AZ by default) and one read
# replica, encrypted with the main key, in the data subnets, reachable from
# the tasks only. storekeep signs in as the master user with a generated
# password (the URL is a secret: secrets.tf).

resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.data[*].id
}

resource "aws_db_parameter_group" "main" {
  name   = "${local.name}-postgres17"
  family = "postgres17"

  # TLS: see var.datastore_tls_required (default true: plain connections
  # refused, as RDS for PostgreSQL 17 does by default).
  parameter {
    name  = "rds.force_ssl"
    value = var.datastore_tls_required ? "1" : "0"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(var.database_max_connections)
    apply_method = "pending-reboot"
  }

  # Slow statements (over 1 s) and schema changes into the PostgreSQL log,
  # exported to CloudWatch Logs below. Bind parameters are left out of it
  # (log_parameter_max_length = 0): they can be shoppers' data.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_parameter_max_length"
    value = "0"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_lock_waits"
    value = "1"
  }
}

# The groups RDS exports the PostgreSQL logs into, made here first so that
# they have a retention and the main key (RDS would make them without).
resource "aws_cloudwatch_log_group" "database" {
  # checkov:skip=CKV_AWS_338:Kept var.log_retention_days (90 by default) like the nodes' logs: connection and error lines carry client addresses (docs/privacy.md), so not a year by rote
  for_each          = toset([for pair in setproduct(["primary", "replica"], ["postgresql", "upgrade"]) : "${pair[0]}/${pair[1]}"])
  name              = "/aws/rds/instance/${local.name}-${split("/", each.key)[0]}/${split("/", each.key)[1]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "aws_db_instance" "primary" {
  identifier     = "${local.name}-primary"
  engine         = "postgres"
  engine_version = var.database_engine_version
  instance_class = var.database_instance_class

  db_name  = "storekeep"
  username = "storekeep"
  password = random_password.database.result
  port     = 5432

  allocated_storage     = var.database_storage_gib
  max_allocated_storage = var.database_max_storage_gib
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  multi_az               = var.database_multi_az
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name

  iam_database_authentication_enabled = var.database_iam_auth

  backup_retention_period   = var.database_backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.database_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-primary-final"

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = var.database_performance_insights_retention_days
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  depends_on = [aws_cloudwatch_log_group.database]

  lifecycle {
    precondition {
      condition     = var.database_max_storage_gib >= var.database_storage_gib
      error_message = "database_max_storage_gib must be at least database_storage_gib."
    }
  }
}

# The read replica, for the nodes' catalog reads (database.replica_url).
resource "aws_db_instance" "replica" {
  # checkov:skip=CKV_AWS_157:A replica need not be Multi-AZ: when it fails storekeep's reads go to the primary, and RDS re-creates it
  # checkov:skip=CKV_AWS_133:Backups are taken of the primary (automated backups with point-in-time recovery, storekeep's own archives); the replica holds the same data, so its own would copy it again
  identifier          = "${local.name}-replica"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = coalesce(var.database_replica_instance_class, var.database_instance_class)

  storage_type      = "gp3"
  storage_encrypted = true
  kms_key_id        = aws_kms_key.main.arn

  multi_az               = false
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name

  iam_database_authentication_enabled = var.database_iam_auth

  # Backups are taken of the primary (RDS snapshots and point-in-time
  # recovery, storekeep's own archives); the replica holds the same data.
  backup_retention_period = 0
  copy_tags_to_snapshot   = true
  deletion_protection     = var.database_deletion_protection
  skip_final_snapshot     = true

  auto_minor_version_upgrade = true
  maintenance_window         = "sun:04:30-sun:05:30"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = var.database_performance_insights_retention_days
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  depends_on = [aws_cloudwatch_log_group.database]
}
