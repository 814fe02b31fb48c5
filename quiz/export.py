from typing import Any


def attempts_data(user: Any) -> list[dict[str, Any]]:
    """Every attempt of the user with its answers, for the data download."""
    return []
