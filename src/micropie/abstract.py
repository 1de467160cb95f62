"""Abstract base classes whose abstract methods are enforced in compiled mode too.

Rules:
- Compiled with mypyc, ``abc.ABC`` no longer refuses to instantiate a subclass that leaves an
  abstract method unimplemented (compiled methods carry no ``__isabstractmethod__``, and
  ``__init_subclass__`` is not run). So the interfaces users implement do not use ``ABCMeta``;
  their ``__init__`` calls ``require_overrides`` instead, which raises the same ``TypeError``
  in both modes. ``@abstractmethod`` stays on the methods so type checkers report the mistake
  before it runs.
"""


def require_overrides(instance: object, base: type, names: tuple[str, ...]) -> None:
    """Raise ``TypeError`` if ``instance``'s class does not override every method in ``names``."""
    cls = type(instance)
    missing = [name for name in names if getattr(cls, name) is getattr(base, name)]
    if missing:
        raise TypeError(
            f"Can't instantiate abstract class {cls.__name__} without an implementation "
            f"for abstract method{'s' if len(missing) > 1 else ''} {', '.join(repr(name) for name in missing)}"
        )
