"""Typed configuration of a zenml-platform stack (everything under the `zenml-platform:` namespace).

Data flows one way: stack file or engine config -> `load_*` -> `StackConfig` -> scenario -> components.
"""

from stack_config.errors import ConfigError, Problem
from stack_config.loader import NAMESPACE, load_from_mapping, load_from_pulumi_runtime, load_stack_file
from stack_config.model import StackConfig

__all__ = [
    "ConfigError",
    "NAMESPACE",
    "Problem",
    "StackConfig",
    "load_from_mapping",
    "load_from_pulumi_runtime",
    "load_stack_file",
]
