"""flashtune.Problem: one attention problem, as the CLI and the results store key it."""

import dataclasses

from flashtune._errors import ArgumentTypeError, InvalidArgumentError

_DTYPES = {"bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16", "f16": "fp16", "float16": "fp16", "half": "fp16"}


def _bad(cls, argument, message):
    e = cls(f"{argument}: {message}")
    e.argument = argument
    return e


@dataclasses.dataclass(frozen=True)
class Problem:
    """[batch, heads, seqlen, head_dim] in dtype ("bf16" or "fp16"), causal or not.

    Problem(4, 16, 4096, 128) is the benchmark shape; Problem.of(q, causal=True) reads a tensor's shape and dtype.
    """

    batch: int
    heads: int
    seqlen: int
    head_dim: int
    dtype: str = "bf16"
    causal: bool = False

    def __post_init__(self):
        for name in ("batch", "heads", "seqlen", "head_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                try:
                    value = int(value.__index__())
                except (AttributeError, TypeError):
                    raise _bad(ArgumentTypeError, name, f"expected an int, got {value!r}") from None
                object.__setattr__(self, name, value)
            if value < 1 or value > 2**31 - 1:
                raise _bad(InvalidArgumentError, name, f"must be in 1..2^31-1, got {value}")
        dtype = _DTYPES.get(str(self.dtype).removeprefix("torch."))
        if dtype is None:
            raise _bad(ArgumentTypeError, "dtype", f"{self.dtype!r} is not supported (bf16 or fp16)")
        object.__setattr__(self, "dtype", dtype)
        if self.causal not in (True, False):
            raise _bad(ArgumentTypeError, "causal", f"expected True or False, got {self.causal!r}")
        object.__setattr__(self, "causal", bool(self.causal))

    @classmethod
    def of(cls, x, causal=None):
        """A Problem as given, a dict of its fields, or the shape and dtype of a tensor-like q ([B, H, N, d])."""
        if isinstance(x, Problem):
            return x if causal is None else dataclasses.replace(x, causal=causal)
        if isinstance(x, dict):
            fields = dict(x)
            if causal is not None:
                fields["causal"] = causal
            try:
                return cls(**fields)
            except TypeError as e:
                raise _bad(ArgumentTypeError, "problem", str(e)) from None
        shape = getattr(x, "shape", None)
        if shape is None:
            raise _bad(
                ArgumentTypeError, "problem", f"expected a Problem, a dict or a tensor, got {type(x).__name__}"
            )
        if len(shape) != 4:
            raise _bad(InvalidArgumentError, "problem", f"a tensor of shape {tuple(shape)} is not [B, H, N, d]")
        return cls(*(int(s) for s in shape), dtype=str(getattr(x, "dtype", "")), causal=bool(causal))

    def yaml(self):
        """The problem as a search space's `problems:` entry."""
        return (
            f"{{batch: {self.batch}, heads: {self.heads}, seqlen: {self.seqlen}, head_dim: {self.head_dim}, "
            f"dtype: {self.dtype}, causal: {'true' if self.causal else 'false'}}}"
        )

    def flops(self):
        """4·B·H·N²·d, halved when causal (FlashAttention's count)."""
        f = 4.0 * self.batch * self.heads * self.seqlen * self.seqlen * self.head_dim
        return f / 2 if self.causal else f
