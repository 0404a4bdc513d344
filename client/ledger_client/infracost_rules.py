"""How Infracost's output maps onto Ledger: resource type -> service, component -> kind.

Infracost names neither a service nor a cost kind, so both are inferred: the service
from the Terraform resource type, the kind (compute, storage, network, other) from
the cost component's name and unit, helped by the resource type for names that
mean different things on different resources ("Requests" on a function is compute,
on a bucket it is storage).
"""

from __future__ import annotations

import re
from typing import Literal

CostKind = Literal["compute", "storage", "network", "other"]

# Longest matching prefix wins, so exact types can refine a provider-wide rule.
# AWS names are the AWS pricing service codes, which billing exports use too.
_SERVICE_BY_PREFIX: dict[str, str] = {
    "aws_instance": "AmazonEC2",
    "aws_ebs_": "AmazonEC2",
    "aws_eip": "AmazonEC2",
    "aws_nat_gateway": "AmazonEC2",
    "aws_autoscaling_group": "AmazonEC2",
    "aws_launch_": "AmazonEC2",
    "aws_eks_node_group": "AmazonEC2",
    "aws_db_": "AmazonRDS",
    "aws_rds_": "AmazonRDS",
    "aws_s3_": "AmazonS3",
    "aws_lambda_": "AWSLambda",
    "aws_lb": "AWSELB",
    "aws_alb": "AWSELB",
    "aws_elb": "AWSELB",
    "aws_dynamodb_": "AmazonDynamoDB",
    "aws_elasticache_": "AmazonElastiCache",
    "aws_cloudfront_": "AmazonCloudFront",
    "aws_cloudwatch_": "AmazonCloudWatch",
    "aws_route53_": "AmazonRoute53",
    "aws_eks_": "AmazonEKS",
    "aws_ecs_": "AmazonECS",
    "aws_efs_": "AmazonEFS",
    "aws_sqs_": "AWSQueueService",
    "aws_sns_": "AmazonSNS",
    "aws_kms_": "awskms",
    "aws_secretsmanager_": "AWSSecretsManager",
    "aws_vpc_endpoint": "AmazonVPC",
    "aws_vpn_": "AmazonVPC",
    "aws_ec2_transit_gateway": "AmazonVPC",
    "google_": "GCP",
    "google_compute_": "Compute Engine",
    "google_storage_": "Cloud Storage",
    "google_sql_": "Cloud SQL",
    "google_container_": "Kubernetes Engine",
    "google_cloudfunctions": "Cloud Functions",
    "google_bigquery_": "BigQuery",
    "google_pubsub_": "Cloud Pub/Sub",
    "google_redis_": "Cloud Memorystore",
    "azurerm_": "Azure",
    "azurerm_virtual_machine": "Virtual Machines",
    "azurerm_linux_virtual_machine": "Virtual Machines",
    "azurerm_windows_virtual_machine": "Virtual Machines",
    "azurerm_managed_disk": "Storage",
    "azurerm_storage_": "Storage",
    "azurerm_mssql_": "SQL Database",
    "azurerm_sql_": "SQL Database",
    "azurerm_kubernetes_": "Azure Kubernetes Service",
    "azurerm_function_app": "Functions",
    "azurerm_linux_function_app": "Functions",
    "azurerm_windows_function_app": "Functions",
    "azurerm_app_service": "Azure App Service",
    "azurerm_service_plan": "Azure App Service",
    "azurerm_lb": "Load Balancer",
    "azurerm_application_gateway": "Application Gateway",
}

# Services whose every charge (requests, retrieval, ...) is the cost of storing data.
_STORAGE_SERVICES = {"AmazonS3", "AmazonEFS", "Cloud Storage", "Storage"}
_FUNCTION_TYPE = re.compile(r"lambda_function|cloudfunctions|function_app")
_NETWORK_TYPE = re.compile(
    r"nat_gateway|(^|_)(lb|alb|elb)(_|$)|load_balancer|cloudfront|vpn|vpc_endpoint|"
    r"transit_gateway|application_gateway|cdn|public_ip|(^|_)eip(_|$)|firewall"
)

_NETWORK_NAME = re.compile(
    r"data transfer|transfer (in|out)|\bnat\b|load balanc|\blcus?\b|bandwidth|egress|"
    r"outbound|\bvpn\b|ip address"
)
_STORAGE_NAME = re.compile(r"storage|snapshot|\biops\b|throughput|backup|\bvolume|\bdisk")
_COMPUTE_NAME = re.compile(
    r"\binstance\b|instance usage|\bvcpu|\bcpu\b|memory|\bram\b|\bgpu|duration|compute|"
    r"\bnodes?\b|virtual machine|\bvm\b|container"
)
# Quantities of stored data; GB-hours and GB-seconds measure memory, not storage.
_STORAGE_UNIT = re.compile(r"^(gb|gib|tb)(-months?)?$")


def service_for(resource_type: str) -> str:
    """The cloud service of a resource type; the type itself when no rule knows it."""
    best = ""
    for prefix in _SERVICE_BY_PREFIX:
        if resource_type.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _SERVICE_BY_PREFIX[best] if best else resource_type


def cost_kind(component_name: str, unit: str, resource_type: str) -> CostKind:
    """Which part of the breakdown a cost component belongs to."""
    name = component_name.lower()
    unit = unit.strip().lower()
    if _NETWORK_NAME.search(name):
        return "network"
    if _STORAGE_NAME.search(name):
        return "storage"
    if _COMPUTE_NAME.search(name):
        return "compute"
    if _FUNCTION_TYPE.search(resource_type) and "request" in name:
        return "compute"
    if _NETWORK_TYPE.search(resource_type):
        return "network"
    if service_for(resource_type) in _STORAGE_SERVICES or _STORAGE_UNIT.match(unit):
        return "storage"
    if "hour" in unit:
        return "compute"
    return "other"
