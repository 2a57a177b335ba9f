"""The capture helper reports what the engine receives, for tests and the policy pack alike."""

from infra.evaluation.stack_capture import capture_run, capture_stack


def test_capture_stack_reports_type_name_urn_inputs_provider_and_parent():
    resources = capture_stack("prod")
    vpc = next(r for r in resources if r.type == "aws:ec2/vpc:Vpc")
    assert vpc.name == "relay-prod-net-vpc"
    assert vpc.urn.endswith("relay:network:Network$aws:ec2/vpc:Vpc::relay-prod-net-vpc")
    assert vpc.inputs["cidrBlock"] == "10.20.0.0/16"  # camelCase, as the engine receives it
    assert vpc.provider_urn.endswith("pulumi:providers:aws::aws")
    assert vpc.parent.endswith("relay:network:Network::relay-prod-net")


def test_capture_run_reports_a_failing_program_instead_of_raising():
    run = capture_run("prod", config={"relay:environment": "prod"})
    assert run.resources == []
    assert "relay:region is not set" in run.error
