"""Domain errors raised by services; one handler turns them into pages or API errors."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration is unusable; `problems` are sentences for the operator."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))

    def explain(self) -> str:
        lines = ["videocoach cannot start with this configuration:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = "The request could not be handled."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        # Response headers that come with this answer (Retry-After on a 429).
        self.headers: dict[str, str] = {}
        super().__init__(self.message)


class NotFound(DomainError):
    """Does not exist, or is not visible to the caller: the two are indistinguishable."""

    status = 404
    code = "not_found"
    default_message = "Not found."


class Forbidden(DomainError):
    """The caller may see the thing but not do this to it."""

    status = 403
    code = "forbidden"
    default_message = "You are not allowed to do that."


class Invalid(DomainError):
    status = 422
    code = "validation_failed"
    default_message = "Some values are not valid."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "That conflicts with the current state."
