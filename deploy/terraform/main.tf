# Names, the account, the zones, and the one customer-managed KMS key that
# encrypts everything at rest (databases, Redis, buckets, secrets, logs).
# The rest is split by concern: network.tf, lb.tf, ecs.tf, iam.tf,
# database.tf, cache.tf, storage.tf, secrets.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The two zones, by name: a zone AWS adds later, or one that is impaired
# when you plan, never moves a subnet (slicing "the first two available"
# would).
data "aws_availability_zones" "chosen" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.availability_zones
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == 2
      error_message = "availability_zones: both zones must exist in var.region and be available."
    }
  }
}

locals {
  name       = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = data.aws_availability_zones.chosen.names

  # Six /24s: public (load balancer, NAT), application (tasks), data
  # (PostgreSQL, Redis), one of each per zone.
  public_subnets = [for i in range(2) : cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), i)]
  app_subnets    = [for i in range(2) : cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), 10 + i)]
  data_subnets   = [for i in range(2) : cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), 20 + i)]
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the account statement is what lets IAM policies (the roles in iam.tf) grant use of the key at all
  # checkov:skip=CKV_AWS_111:Same: a key policy cannot name its own ARN, "*" is this key
  # checkov:skip=CKV_AWS_356:Same: a key policy cannot name its own ARN, "*" is this key
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncrypts"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "${local.name}: databases, Redis, buckets, secrets and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}
