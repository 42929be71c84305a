"""Reusable ComponentResources, each `(name, args, ctx, opts)` with a typed args dataclass next to it.

Type tokens are literal strings `zenml-platform:<module>:<Type>` (tests/unit/test_component_layers.py); every
child has `parent=self`. Components never import `stack_config`: scenarios/args.py translates the config.
"""

PACKAGE = "zenml-platform"
