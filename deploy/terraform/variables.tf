# Inputs. Those without a default must be set (terraform.tfvars, from
# terraform.tfvars.example). The storekeep settings the nodes get from them
# are named in ecs.tf; docs/configuration.md explains each setting.

# --- where and what ---------------------------------------------------------

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-central-1"
}

variable "name" {
  description = "Prefix of every resource name (with the environment)."
  type        = string
  default     = "storekeep"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name: 2 to 21 lower-case letters, digits and hyphens, starting with a letter (it ends up in bucket and database identifiers)."
  }
}

variable "environment" {
  description = "Environment name, part of every resource name (prod, staging, ...)."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment: 2 to 10 lower-case letters and digits, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource (cost centre, owner, ...)."
  type        = map(string)
  default     = {}
}

variable "image" {
  description = "storekeep image with an immutable tag or digest, built from deploy/Dockerfile's runtime-pg target (it carries pg_dump, which scheduled backups need), e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com/storekeep:0.1.0-pg."
  type        = string

  validation {
    condition     = can(regex("^[^@]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image: give a tag (not latest) or an @sha256: digest, so that a rollout is a change Terraform can see and roll back."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture the image was built for: X86_64 or ARM64 (Graviton, about 20 % cheaper on Fargate)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture: X86_64 or ARM64."
  }
}

# --- network ------------------------------------------------------------------

variable "availability_zones" {
  description = "The two availability zones (names, in var.region) the subnets, tasks, databases and Redis are spread over."
  type        = list(string)
  default     = ["eu-central-1a", "eu-central-1b"]

  validation {
    condition     = length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2
    error_message = "availability_zones: two different zone names, such as [\"eu-central-1a\", \"eu-central-1b\"]."
  }
}

variable "vpc_cidr" {
  description = "The VPC's address range; public, application and data subnets are /24s cut from it in two availability zones."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 18
    error_message = "vpc_cidr: an IPv4 CIDR of /18 or larger (six /24 subnets are cut from it)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both zones instead of one per zone: about 33 USD a month less, but the tasks of both zones lose their way out (image pulls, secrets, webhooks, mail) if that zone fails."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs (rejected traffic) are kept in CloudWatch Logs."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days: one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

# --- load balancer ------------------------------------------------------------

variable "base_domain" {
  description = "storekeep's base_domain: shops are served on {slug}.BASE_DOMAIN. Point BASE_DOMAIN and *.BASE_DOMAIN at the load balancer (outputs load_balancer_dns_name and load_balancer_zone_id)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.base_domain))
    error_message = "base_domain: a lower-case DNS name such as shops.example.com."
  }
}

variable "certificate_arn" {
  description = "ACM certificate (in this region) for BASE_DOMAIN and *.BASE_DOMAIN, served by the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.certificate_arn))
    error_message = "certificate_arn: an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)."
  }
}

variable "additional_certificate_arns" {
  description = "More ACM certificates for the HTTPS listener: shops on their own domains (the load balancer picks one by SNI)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.additional_certificate_arns : can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", arn))])
    error_message = "additional_certificate_arns: ACM certificate ARNs."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.3 and 1.2 by default)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "load_balancer_deletion_protection" {
  description = "Refuse to delete the load balancer (turn off before a terraform destroy)."
  type        = bool
  default     = true
}

variable "access_log_retention_days" {
  description = "Days the load balancer's access logs (and the buckets' server access logs) are kept in the logs bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days: at least 1."
  }
}

# --- storekeep nodes (ECS Fargate) ---------------------------------------------

variable "task_cpu" {
  description = "CPU units of one node's task (1024 = one vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu: one of Fargate's sizes (256, 512, 1024, 2048, 4096, 8192, 16384)."
  }
}

variable "task_memory" {
  description = "Memory of one node's task in MiB (within what Fargate allows for task_cpu)."
  type        = number
  default     = 2048

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880
    error_message = "task_memory: 512 to 122880 MiB, in a combination Fargate accepts for task_cpu."
  }
}

variable "min_tasks" {
  description = "Fewest nodes; two or more keep the shop up while one is replaced or its zone fails."
  type        = number
  default     = 2

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks: at least 1 (2 or more for zero-downtime rollouts and zone failures)."
  }
}

variable "max_tasks" {
  description = "Most nodes autoscaling may run (a rollout at max_tasks briefly has twice as many holding connections). Each holds database_pool_size + 2 connections on the primary and database_pool_size + 1 on the replica: see database_max_connections."
  type        = number
  default     = 10

  validation {
    condition     = var.max_tasks >= 1
    error_message = "max_tasks: at least 1."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU the service is scaled to hold."
  type        = number
  default     = 70

  validation {
    condition     = var.cpu_target_percent >= 20 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent: 20 to 90."
  }
}

variable "requests_per_task_target" {
  description = "Load balancer requests a minute per node the service is scaled to hold (ALBRequestCountPerTarget); measure yours with scripts/bench before trusting the default."
  type        = number
  default     = 6000

  validation {
    condition     = var.requests_per_task_target >= 100
    error_message = "requests_per_task_target: at least 100 requests a minute."
  }
}

variable "database_pool_size" {
  description = "storekeep's database.max_connections on each node: its pool on the primary, and its pool on the read replica (the same size). Each node also holds one connection for readiness (on the primary) and one per database for the replica lag monitor. 16 is plenty for a task of 1 vCPU (storekeep's own default is 10)."
  type        = number
  default     = 16

  validation {
    condition     = var.database_pool_size >= 2 && var.database_pool_size <= 500
    error_message = "database_pool_size: 2 to 500."
  }
}

variable "drain_secs" {
  description = "storekeep's shutdown.drain_secs: after SIGTERM, seconds the node keeps serving with readiness 503."
  type        = number
  default     = 5

  validation {
    condition     = var.drain_secs >= 0 && var.drain_secs <= 60
    error_message = "drain_secs: 0 to 60."
  }
}

variable "grace_secs" {
  description = "storekeep's shutdown.grace_secs: after the drain, longest wait for requests in flight. drain_secs + grace_secs + 10 must fit Fargate's 120 s stop timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.grace_secs >= 1 && var.grace_secs <= 100
    error_message = "grace_secs: 1 to 100 (with drain_secs, within Fargate's 120 s stop timeout)."
  }
}

variable "migrate_on_start" {
  description = "true: every node runs `serve`, and the first new node of a rollout applies pending migrations (under sqlx's advisory lock; the Kubernetes manifests' way). false: nodes run `serve --no-migrate` and stay unready until the migrate task (output migrate_command) has run (the compose stack's way): see README.md, Migrations."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "storekeep's log.level (a tracing filter)."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Days the nodes' logs are kept in CloudWatch Logs. Logs hold client IPs and masked emails (docs/privacy.md): keep them no longer than operations need."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "mail_from" {
  description = "storekeep's mail.from: sender address of emails from shops without their own sender, and of the platform's."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.mail_from))
    error_message = "mail_from: an email address."
  }
}

# --- backups (storekeep's own, into the backups bucket) ----------------------

variable "backup_recipients" {
  description = "storekeep's backup.recipients: age recipients (age1..., comma-separated) every backup is encrypted to; make one with `storekeep backup keygen` and keep the identity off AWS."
  type        = string

  validation {
    condition     = alltrue([for r in split(",", var.backup_recipients) : can(regex("^age1[02-9ac-hj-np-z]{58}$", trimspace(r)))])
    error_message = "backup_recipients: one or more age X25519 recipients (age1 followed by 58 characters), comma-separated."
  }
}

variable "backup_schedule" {
  description = "storekeep's backup.schedule on the nodes (they reach PostgreSQL directly, so the backup lock holds): a period such as 15m or 1h, or off. Needs the runtime-pg image."
  type        = string
  default     = "15m"

  validation {
    condition     = var.backup_schedule == "off" || can(regex("^[0-9]+[mhd]$", var.backup_schedule))
    error_message = "backup_schedule: a period such as 15m, 1h or 1d, or off."
  }
}

variable "backup_noncurrent_days" {
  description = "Days a backup that storekeep's prune deleted (or a node overwrote) stays recoverable as a noncurrent version in the versioned backups bucket: what a stolen node credential could destroy is bounded by this."
  type        = number
  default     = 30

  validation {
    condition     = var.backup_noncurrent_days >= 1
    error_message = "backup_noncurrent_days: at least 1."
  }
}

# --- PostgreSQL (RDS) ------------------------------------------------------------

variable "database_engine_version" {
  description = "PostgreSQL version: a major version (minor upgrades are applied in the maintenance window) or an exact one."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^17(\\.[0-9]+)?$", var.database_engine_version))
    error_message = "database_engine_version: PostgreSQL 17 (17 or 17.N); the parameter group family is postgres17."
  }
}

variable "database_instance_class" {
  description = "Instance class of the primary (db.t4g.medium for a small platform, db.m7g.large and up for real traffic)."
  type        = string
  default     = "db.t4g.medium"
}

variable "database_replica_instance_class" {
  description = "Instance class of the read replica; null for the primary's."
  type        = string
  default     = null
}

variable "database_multi_az" {
  description = "A standby in the second zone that RDS fails over to (about doubles the primary's cost)."
  type        = bool
  default     = true
}

variable "database_storage_gib" {
  description = "Initial gp3 storage of the primary, in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.database_storage_gib >= 20
    error_message = "database_storage_gib: at least 20."
  }
}

variable "database_max_storage_gib" {
  description = "Ceiling of storage autoscaling, in GiB (at least database_storage_gib)."
  type        = number
  default     = 500
}

variable "database_max_connections" {
  description = "PostgreSQL max_connections (a static parameter: changed at the next reboot). The primary and the replica share the parameter group, so both get it. Must hold the primary's connections during a rollout at max_tasks, old and new tasks together: 2 x max_tasks x (database_pool_size + 2) + 2 (a migrate task's) + 10 for operators, which also covers the replica's; checked at plan time. The default fits the defaults (2 x 10 x 18 + 12 = 372) and stays under RDS's own default for db.t4g.medium (about 400)."
  type        = number
  default     = 400

  validation {
    condition     = var.database_max_connections >= 20 && var.database_max_connections <= 5000
    error_message = "database_max_connections: 20 to 5000."
  }
}

variable "database_backup_retention_days" {
  description = "Days of RDS automated backups (point-in-time recovery window), besides storekeep's own backups."
  type        = number
  default     = 14

  validation {
    condition     = var.database_backup_retention_days >= 1 && var.database_backup_retention_days <= 35
    error_message = "database_backup_retention_days: 1 to 35."
  }
}

variable "database_deletion_protection" {
  description = "Refuse to delete the databases (turn off before a terraform destroy)."
  type        = bool
  default     = true
}

variable "database_iam_auth" {
  description = "Allow IAM authentication besides passwords (for operators and tools; storekeep itself signs in with the generated password)."
  type        = bool
  default     = true
}

variable "database_performance_insights_retention_days" {
  description = "Days of Performance Insights history (7 is free; 31 x N months or 731 cost extra)."
  type        = number
  default     = 7

  validation {
    condition = (
      var.database_performance_insights_retention_days == 7 ||
      var.database_performance_insights_retention_days == 731 ||
      (var.database_performance_insights_retention_days % 31 == 0 && var.database_performance_insights_retention_days >= 31 && var.database_performance_insights_retention_days <= 713)
    )
    error_message = "database_performance_insights_retention_days: 7, 731, or a number of months x 31 up to 713."
  }
}

# --- Redis (ElastiCache) ----------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type; Redis holds only rate-limit counters and cache-invalidation messages, so a small node does."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_engine_version" {
  description = "Redis OSS engine version (7.x: the default.redis7 parameter group, and transit encryption modes need 7.0.5 or later)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version: a Redis OSS 7 version such as 7.1."
  }
}

# --- encryption in transit to the data stores ----------------------------------

variable "datastore_tls_required" {
  description = "Require TLS on connections to PostgreSQL (rds.force_ssl = 1, sslmode=require in the URLs) and Redis (transit encryption mode required, rediss://, verified against the system's roots). false accepts plain connections too (only for a client that cannot speak TLS). See README.md, Encryption in transit."
  type        = bool
  default     = true
}

variable "database_ca_file" {
  description = "Path, inside the image, of a PEM file of the certificate authorities of RDS (AWS's global-bundle.pem). Set, the database URLs say sslmode=verify-full&sslrootcert=PATH: the server's certificate and host name are verified. Empty (the default): sslmode=require, encrypted but not verified, since the image carries no RDS bundle. Needs datastore_tls_required. See README.md, Encryption in transit."
  type        = string
  default     = ""

  validation {
    condition     = var.database_ca_file == "" || can(regex("^/[A-Za-z0-9._/-]+$", var.database_ca_file))
    error_message = "database_ca_file: empty, or an absolute path of letters, digits, '.', '_', '-' and '/' (it goes into the URLs unescaped)."
  }
}
