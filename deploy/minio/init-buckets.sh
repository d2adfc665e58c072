#!/bin/sh
# One-shot job of deploy/compose.scale.yaml (minio/mc image): creates the
# media bucket and the backup bucket, each with its own user and policy
# (backups never share credentials with the images: docs/backups.md).
# Safe to run again.
set -eu

mc alias set local http://minio:9000 "$(cat /run/secrets/minio_root_user)" "$(cat /run/secrets/minio_root_password)" >/dev/null

for pair in media:storekeep-media backup:storekeep-backups; do
  name=${pair%%:*}
  bucket=${pair#*:}
  user="storekeep-$name"
  mc mb --ignore-existing "local/$bucket"
  cat > "/tmp/$name-policy.json" <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],
 "Resource":["arn:aws:s3:::$bucket","arn:aws:s3:::$bucket/*"]}]}
JSON
  mc admin policy create local "$user" "/tmp/$name-policy.json"
  mc admin user add local "$user" "$(tr -d '\n' < "/run/secrets/${name}_s3_secret_access_key")"
  mc admin policy attach local "$user" --user "$user" 2>/dev/null || true
done
echo "buckets ready"
