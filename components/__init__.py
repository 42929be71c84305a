"""Reusable ComponentResources. Type tokens are `zenml-platform:<module>:<Type>`; every child has `parent=self`."""

PACKAGE = "zenml-platform"
