# Terraform and provider versions. The AWS provider is held to 5.x (5.80 or
# later: ElastiCache's transit_encryption_mode and the VPC security group
# rule resources are older than that); commit the .terraform.lock.hcl that
# `terraform init` writes, so every machine applies with the same build.
terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds the generated database and Redis passwords: keep it in an
  # encrypted, access-controlled backend, never in git. For example (the
  # bucket and table made once by hand, outside this configuration):
  #
  # backend "s3" {
  #   bucket         = "acme-terraform-state"
  #   key            = "storekeep/prod.tfstate"
  #   region         = "eu-central-1"
  #   encrypt        = true
  #   dynamodb_table = "terraform-locks"
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Application = "storekeep"
        Environment = var.environment
        ManagedBy   = "terraform"
      },
      var.tags,
    )
  }
}
