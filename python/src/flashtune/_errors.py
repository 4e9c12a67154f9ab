"""flashtune's exceptions (docs/python.md, Exceptions).

Every exception flashtune raises is a :class:`flashtune.Error` (a ``RuntimeError``) with two attributes:
``kind`` (the C++ runtime's error kind: ``"invalid_argument"``, ``"no_gpu"``, ``"driver"``, ``"compile"``,
``"not_found"``, ``"io"``, ``"resource_exceeded"``, ``"internal"``) and ``argument`` (the name of the bad
argument, ``"q"``, ``"scale"``, ...; ``None`` when no single argument is to blame). Bad arguments are also
``ValueError`` or ``TypeError``, so that code that catches those keeps working.
"""


class Error(RuntimeError):
    """Base class: anything that went wrong in flashtune."""

    kind = "internal"
    argument = None


class InvalidArgumentError(Error, ValueError):
    """A bad value: rank, shape, strides, head_dim, scale, template name, a problem out of range."""

    kind = "invalid_argument"


class ArgumentTypeError(Error, TypeError):
    """A bad type: an unsupported dtype, q, k and v of different dtypes, or an object that is no tensor."""

    kind = "invalid_argument"


class DeviceError(InvalidArgumentError):
    """Tensors not in CUDA device memory, or not all on one device."""


class NoGpuError(Error):
    """No NVIDIA driver or no device: the message says which (compiling still works)."""

    kind = "no_gpu"


class DriverError(Error):
    """A CUDA driver call failed (the message names it)."""

    kind = "driver"


class CompileError(Error):
    """NVRTC failed to compile a kernel (the message holds its log)."""

    kind = "compile"


class NotFoundError(Error, LookupError):
    """A file, template or executable that should exist does not."""

    kind = "not_found"


class TuneError(Error):
    """`flashtune tune` failed; ``exit_code`` and ``output`` say how (docs/cli.md, Exit codes)."""

    def __init__(self, message, exit_code=None, output=""):
        super().__init__(message)
        self.exit_code = exit_code
        self.output = output
