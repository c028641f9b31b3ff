# terraform init -backend-config=env/prod.backend.hcl (the state bucket: docs/deploy.md step 1).
bucket       = "rtstream-tfstate-123456789012"
key          = "rtstream/prod.tfstate"
region       = "eu-west-1"
encrypt      = true
# The bootstrap's key (terraform -chdir=terraform/bootstrap output terraform_kms_key_arn): its
# key policy, not S3's default encryption, decides who may read the state.
kms_key_id   = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
use_lockfile = true
