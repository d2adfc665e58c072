# storekeep's secret settings (🔒 in docs/configuration.md) as Secrets
# Manager secrets, encrypted with the main key, handed to the containers by
# ECS as environment variables (ecs.tf) — never in the task definition,
# never in this repository.
#
# Two kinds:
# - what this configuration knows: the database and Redis URLs, built from
#   the generated passwords and the endpoints (so they are in the Terraform
#   state too: keep the state encrypted, versions.tf);
# - what only the operator may know: the platform token, the PII encryption
#   keys, the blind-index key and the SMTP URL. Terraform creates the empty
#   secrets; put their values once (README.md, First apply). A task does not
#   start while one is empty (ECS: "ResourceInitializationError ... secret"),
#   rather than starting without it.

locals {
  # TLS (README.md, Encryption in transit). Redis: rediss://, verified
  # against the system's roots. PostgreSQL: verified against the RDS bundle
  # when the image carries it (database_ca_file), else encrypted only;
  # without datastore_tls_required, sqlx's default (prefer).
  redis_scheme = var.datastore_tls_required ? "rediss" : "redis"

  database_url_options = (
    !var.datastore_tls_required ? "" :
    var.database_ca_file != "" ? "?sslmode=verify-full&sslrootcert=${var.database_ca_file}" :
    "?sslmode=require"
  )

  # Operator-provided secrets: name => what goes in it.
  operator_secrets = {
    platform_token             = "storekeep's platform_token: at least 32 characters (openssl rand -hex 32)"
    encryption_keys            = "storekeep's encryption.keys: the STOREKEEP_ENCRYPTION_KEYS value printed by `storekeep keys generate`"
    encryption_blind_index_key = "storekeep's encryption.blind_index_key: the STOREKEEP_ENCRYPTION_BLIND_INDEX_KEY value printed by `storekeep keys generate`; never change it"
    mail_smtp_url              = "storekeep's mail.smtp_url: smtp://USER:PASS@HOST:587 (STARTTLS) of your mail provider, e.g. Amazon SES SMTP credentials"
  }
}

resource "aws_secretsmanager_secret" "database_url" {
  # checkov:skip=CKV2_AWS_57:storekeep reads its settings at start-up, so a new password takes effect only through a rolling restart: rotation is the procedure in README.md (Rotating secrets), not a rotation Lambda on a timer
  name        = "${local.name}/database_url"
  description = "storekeep's database.url: the RDS primary"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgres://storekeep:${random_password.database.result}@${aws_db_instance.primary.address}:${aws_db_instance.primary.port}/storekeep${local.database_url_options}"

  lifecycle {
    precondition {
      condition     = var.database_ca_file == "" || var.datastore_tls_required
      error_message = "database_ca_file verifies TLS connections: it needs datastore_tls_required = true."
    }
  }
}

# The replica's URL: the nodes' database.replica_url (ecs.tf), for their
# catalog reads.
resource "aws_secretsmanager_secret" "database_replica_url" {
  # checkov:skip=CKV2_AWS_57:As database_url: a new password reaches the nodes through a rolling restart (README.md, Rotating secrets)
  name        = "${local.name}/database_replica_url"
  description = "storekeep's database.replica_url: the RDS read replica"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "database_replica_url" {
  secret_id     = aws_secretsmanager_secret.database_replica_url.id
  secret_string = "postgres://storekeep:${random_password.database.result}@${aws_db_instance.replica.address}:${aws_db_instance.replica.port}/storekeep${local.database_url_options}"
}

resource "aws_secretsmanager_secret" "redis_url" {
  # checkov:skip=CKV2_AWS_57:The AUTH token changes through ElastiCache's ROTATE strategy and a rolling restart (README.md, Rotating secrets), not a rotation Lambda
  name        = "${local.name}/redis_url"
  description = "storekeep's redis.url: the ElastiCache primary endpoint with its AUTH token"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "${local.redis_scheme}://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:6379"
}

resource "aws_secretsmanager_secret" "operator" {
  # checkov:skip=CKV2_AWS_57:Values only the operator holds (keys, tokens, SMTP credentials): rotating them is storekeep's own procedure (docs/runbooks/key-rotation.md) and a rolling restart, which a rotation Lambda cannot do
  for_each    = local.operator_secrets
  name        = "${local.name}/${each.key}"
  description = each.value
  kms_key_id  = aws_kms_key.main.arn
}
