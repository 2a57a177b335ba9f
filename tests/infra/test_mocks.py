"""The mocks refuse what the Pulumi engine refuses, so a test run cannot pass where a preview stops."""

import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from infra.evaluation.mocks import RelayMocks, refusal

PROVIDER_REF = "urn:pulumi:prod::relay::pulumi:providers:aws::aws::04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_an_invoke_without_a_provider_is_refused_when_the_default_is_disabled():
    mocks = RelayMocks(disabled_default_providers=("aws", "kubernetes"))
    token = "aws:index/getCallerIdentity:getCallerIdentity"
    with pytest.raises(Exception, match="Default provider for 'aws' disabled") as refused:
        mocks.call(MockCallArgs(token=token, args={}, provider=""))
    assert str(refused.value) == refusal("aws", token)
    assert mocks.call(MockCallArgs(token=token, args={}, provider=PROVIDER_REF))["accountId"]


def test_a_resource_without_a_provider_is_refused_when_the_default_is_disabled():
    mocks = RelayMocks(disabled_default_providers=("*",))
    bucket = MockResourceArgs("aws:s3/bucket:Bucket", "logs", {}, provider="", custom=True)
    with pytest.raises(Exception, match=r"Default provider for 'aws' disabled\. 'logs' must use"):
        mocks.new_resource(bucket)
    bucket.provider = PROVIDER_REF
    assert mocks.new_resource(bucket)[0]
    # Providers themselves and components never need one.
    mocks.new_resource(MockResourceArgs("pulumi:providers:aws", "aws", {}, custom=True))
    mocks.new_resource(MockResourceArgs("relay:app:App", "app", {}, custom=False))


def test_packages_whose_default_stays_enabled_need_no_provider():
    mocks = RelayMocks(disabled_default_providers=("aws",))
    mocks.new_resource(MockResourceArgs("random:index/randomPassword:RandomPassword", "p", {}, custom=True))
