"""Storage: every bucket private, encrypted, versioned, TLS-only; uploads replicated; CDN signed."""

import json

from tests.infra.resources import by_output, config, of_type, region_of, single

BUCKET = "aws:s3/bucket:Bucket"


def attached(run, bucket, type_token):
    """The sub-resource of `type_token` that configures `bucket` (they reference its id)."""
    found = [r for r in of_type(run, type_token) if r.inputs["bucket"] == bucket.id]
    assert len(found) == 1, f"{bucket.urn}: expected one {type_token}, found {len(found)}"
    return found[0]


def test_every_bucket_blocks_public_access_and_enforces_ownership(stack_run):
    buckets = of_type(stack_run, BUCKET)
    assert len(buckets) == 3, "uploads, replica, logs"
    for bucket in buckets:
        block = attached(stack_run, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(
            block[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ), bucket.urn
        ownership = attached(stack_run, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced", bucket.urn


def test_every_bucket_denies_plain_http(stack_run):
    for bucket in of_type(stack_run, BUCKET):
        policy = json.loads(attached(stack_run, bucket, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
        deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, bucket.urn
        assert deny["Action"] == "s3:*" and deny["Principal"] == "*"


def test_every_bucket_is_encrypted_versioned_and_has_a_lifecycle(stack_run):
    for bucket in of_type(stack_run, BUCKET):
        sse = attached(
            stack_run,
            bucket,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        ).inputs
        default = sse["rules"][0]["applyServerSideEncryptionByDefault"]
        if bucket.name.endswith("-logs-bucket"):
            assert default == {"sseAlgorithm": "AES256"}, "ALB access logs require SSE-S3"
        else:
            assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"], bucket.urn
        versioning = attached(stack_run, bucket, "aws:s3/bucketVersioning:BucketVersioning")
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled", bucket.urn
        (rule,) = attached(
            stack_run, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        ).inputs["rules"]
        assert rule["status"] == "Enabled" and rule["noncurrentVersionExpiration"]["noncurrentDays"] > 0
        assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
        assert bucket.protect, f"{bucket.urn}: buckets survive a stray destroy"


def test_uploads_allow_browser_posts_from_the_app_origin_only(stack_run):
    uploads = single(stack_run, BUCKET, "-uploads-bucket")
    (rule,) = attached(stack_run, uploads, "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs[
        "corsRules"
    ]
    assert rule["allowedOrigins"] == [f"https://{config(stack_run, 'domain')}"]
    assert "POST" in rule["allowedMethods"] and "PUT" not in rule["allowedMethods"]


def test_uploads_log_access_to_the_log_bucket(stack_run):
    uploads = single(stack_run, BUCKET, "-uploads-bucket")
    logs = single(stack_run, BUCKET, "-logs-bucket")
    logging = attached(stack_run, uploads, "aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["targetBucket"] == logs.id


def test_uploads_replicate_to_the_backup_region_with_a_key_there(stack_run):
    uploads = single(stack_run, BUCKET, "-uploads-bucket")
    replica = single(stack_run, BUCKET, "-replica-bucket")
    assert region_of(stack_run, replica) == config(stack_run, "backupRegion")
    replication = attached(stack_run, uploads, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (rule,) = replication.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["destination"]["bucket"] == replica.outputs["arn"]
    key = by_output(stack_run, "arn")[rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]]
    assert region_of(stack_run, key) == config(stack_run, "backupRegion")
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"


def test_files_are_served_only_through_cloudfront_with_signed_urls(stack_run):
    distribution = single(stack_run, "aws:cloudfront/distribution:Distribution")
    i = distribution.inputs
    (origin,) = i["origins"]
    oac = by_output(stack_run, "id")[origin["originAccessControlId"]].inputs
    assert oac["signingBehavior"] == "always" and oac["signingProtocol"] == "sigv4"
    behavior = i["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "https-only"
    (group_id,) = behavior["trustedKeyGroups"]
    (key_id,) = by_output(stack_run, "id")[group_id].inputs["items"]
    assert by_output(stack_run, "id")[key_id].inputs["encodedKey"].startswith("-----BEGIN PUBLIC KEY-----")
    headers = by_output(stack_run, "id")[behavior["responseHeadersPolicyId"]].inputs["securityHeadersConfig"]
    assert headers["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
    assert headers["frameOptions"]["frameOption"] == "DENY"
    uploads = single(stack_run, BUCKET, "-uploads-bucket")
    policy = json.loads(attached(stack_run, uploads, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    grant = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["Condition"]["StringEquals"]["AWS:SourceArn"] == distribution.outputs["arn"]


def test_cloudfront_uses_modern_tls_a_us_east_1_certificate_waf_and_logging(stack_run):
    distribution = single(stack_run, "aws:cloudfront/distribution:Distribution")
    i = distribution.inputs
    files_domain = f"files.{config(stack_run, 'domain')}"
    assert i["aliases"] == [files_domain]
    certificate = i["viewerCertificate"]
    assert (
        certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
        and certificate["sslSupportMethod"] == "sni-only"
    )
    cert = by_output(stack_run, "arn")[certificate["acmCertificateArn"]]
    assert cert.type == "aws:acm/certificate:Certificate" and cert.inputs["region"] == "us-east-1"
    assert cert.inputs["domainName"] == files_domain and cert.inputs["validationMethod"] == "DNS"
    acl = by_output(stack_run, "arn")[i["webAclId"]]
    assert acl.inputs["scope"] == "CLOUDFRONT"
    source = single(stack_run, "aws:cloudwatch/logDeliverySource:LogDeliverySource")
    assert (
        source.inputs["resourceArn"] == distribution.outputs["arn"] and source.inputs["region"] == "us-east-1"
    )
    destination = single(stack_run, "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination").inputs
    logs = single(stack_run, BUCKET, "-logs-bucket")
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"] == logs.outputs["arn"]


def test_files_domain_points_at_the_distribution(stack_run):
    records = [r for r in of_type(stack_run, "aws:route53/record:Record") if "-storage-cdn-alias-" in r.name]
    assert {r.inputs["type"] for r in records} == {"A", "AAAA"}
    assert all(r.inputs["aliases"][0]["name"] == "d111111abcdef8.cloudfront.net" for r in records)
