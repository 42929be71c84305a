"""Common base for every config section: camelCase keys in stack files, unknown keys rejected."""

import re

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        frozen=True,
        validate_default=True,
    )


def matching(pattern: "re.Pattern[str]", message: str) -> AfterValidator:
    """A validator for `Annotated[str, ...]` fields: the value must match `pattern`, else `message`."""

    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)
