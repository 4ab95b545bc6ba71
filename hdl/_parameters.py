"""Parameter checks shared by the slique components (and mirrored by their golden models)."""

from amaranth.hdl import Shape


__all__ = ["check_shape", "check_depth", "check_choice", "FULL_MODES", "STORAGES"]


#: What a :class:`~slique.hdl.BoundedSlique` does with a beat offered while it is full.
FULL_MODES = ("backpressure", "drop")

#: How a :class:`~slique.hdl.BoundedSlique` stores its entries.
STORAGES = ("auto", "systolic", "ring")


def check_shape(shape):
    """Return ``shape`` unchanged if it is shape-like, else raise :exc:`TypeError` saying why."""
    try:
        Shape.cast(shape)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"Payload shape must be shape-like (an int width, unsigned(n), signed(n), a range, "
            f"an Enum or a data.Struct/Union layout), not {shape!r}") from error
    return shape


def check_depth(depth, *, minimum=1):
    """Return ``depth`` if it is an integer >= ``minimum``, else raise saying what is allowed."""
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise TypeError(f"Slique depth must be an integer, not {depth!r}")
    if depth < minimum:
        hint = " (a zero-size slique is ZeroSlique's job)" if depth == 0 else ""
        raise ValueError(f"Slique depth must be at least {minimum}, not {depth}{hint}")
    return depth


def check_choice(name, value, allowed):
    """Return ``value`` if it is one of ``allowed``, else raise :exc:`ValueError` listing them."""
    if value not in allowed:
        choices = ", ".join(repr(choice) for choice in allowed)
        raise ValueError(f"{name} must be one of {choices}, not {value!r}")
    return value
