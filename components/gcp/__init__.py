"""GCP implementations of the platform's interfaces (DatabaseConnection, SecretStoreBinding, artifact store).

The GKE cluster (with Workload Identity), the VPC and its private services access are given; nothing here
creates them. pulumi_gcp is imported only by these modules.
"""
