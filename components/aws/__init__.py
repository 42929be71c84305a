"""AWS implementations of the platform's interfaces (DatabaseConnection, SecretStoreBinding, artifact store).

The EKS cluster, its IAM OIDC provider, the VPC and its subnets are given; nothing here creates them.
pulumi_aws is imported only by these modules, so the CLI and the kubernetes target never load it.
"""
