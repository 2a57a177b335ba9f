"""LoadBalancerController: installed by Helm, allowed to bind pods to our target group only."""

import json

from tests.infra.resources import by_output, config, of_type, plain, single


def test_load_balancer_controller_is_installed_by_helm_with_a_scoped_irsa_role(stack_run):
    release = single(stack_run, "kubernetes:helm.sh/v3:Release", "-lb-controller-release")
    i = plain(release.inputs)
    assert i["chart"] == "aws-load-balancer-controller" and i["namespace"] == "kube-system"
    assert i["version"] == config(stack_run, "lbControllerChartVersion")
    assert i["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    role = by_output(stack_run, "arn")[
        i["values"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    ]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert (
        "system:serviceaccount:kube-system:aws-load-balancer-controller"
        in trust["Condition"]["StringEquals"].values()
    )
    policy = next(
        p for p in of_type(stack_run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    )
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    target_groups = [t.outputs["arn"] for t in of_type(stack_run, "aws:lb/targetGroup:TargetGroup")]
    assert len(target_groups) == 2, "REST's and the socket path's"
    assert sorted(statements["BindPodsToRelayTargetGroup"]["Resource"]) == sorted(target_groups)
    for statement in statements.values():
        changes = [a for a in statement["Action"] if ":Describe" not in a]
        assert not changes or statement["Resource"] != "*", (
            f"{statement['Sid']}: changes must name their target"
        )
        assert not any(a.startswith("elasticloadbalancing:Create") for a in statement["Action"])
