"""C code from derived statements: sympy's C printer, rounding as the numpy executor rounds.

:class:`CPrinter` is sympy's ``C99CodePrinter`` with the same choices as the
numpy printer of :mod:`brianmodes.neurons.codegen`, so that the compiled loop
evaluates every statement with the same operations in the same order (the
library is built with ``-ffp-contract=off``: no fused multiply-adds):

- sums in the order of :func:`~brianmodes.neurons.codegen.ranks` (the state's
  own terms first, the drives last);
- numbers as numpy sees Python numbers: a rational or float is evaluated in
  double and then rounded to the compute type, ``((real)(1.0/3.0))``;
- ``x**2`` as ``x*x`` (numpy squares), ``x**-1`` as ``1/x``, other powers
  with ``pow``; the math functions in the compute type (``expf`` for float);
- ``Select(m, a, b)`` as ``(m != 0 ? a : b)``, ``SurrogateGrad(x)`` as a
  precomputed per-neuron value (named by :meth:`CPrinter.surrogate_name`),
  ``exprel`` as an inline function;
- symbols that are C keywords or library names are renamed (``bmv_double``).
"""

from __future__ import annotations

import sympy
from sympy.codegen.ast import float32, float64, real
from sympy.printing.c import C99CodePrinter
from sympy.printing.precedence import PRECEDENCE

from .codegen import _OrderedSums

#: Names a model symbol may not have in C (keywords, the compute type, the functions the code calls).
C_RESERVED = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int long
register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
real exp expf log logf sqrt sqrtf sin sinf cos cosf tan tanf sinh sinhf cosh coshf tanh tanhf asin asinf
acos acosf atan atanf fabs fabsf pow powf expm1 expm1f int64_t int32_t uint8_t bm_exprel bm_sq
""".split())


def c_name(name):
    """The C identifier of a model symbol.

    Examples
    --------
    >>> c_name("v__1"), c_name("double")
    ('v__1', 'bmv_double')
    """
    return f"bmv_{name}" if name in C_RESERVED or name.startswith("bm") else name


class CPrinter(_OrderedSums, C99CodePrinter):
    """sympy's C99 printer with the numpy executor's order of operations.

    Parameters
    ----------
    ranks : dict
        Symbol name to its rank in printed sums (see ``codegen.ranks``).
    ctype : {'float', 'double'}
        The compute type (``real`` in the generated code).
    surrogates : dict, optional
        ``SurrogateGrad`` argument to the name of its precomputed value.

    Examples
    --------
    >>> x, y = sympy.symbols("x y", real=True)
    >>> CPrinter({}, "float").doprint(sympy.Rational(1, 3) * x + sympy.exp(-y) + x**2)
    '(((float)(1.0/3.0)))*x + bm_sq(x) + expf(-y)'
    """

    def __init__(self, ranks, ctype="double", surrogates=None):
        alias = float32 if ctype == "float" else float64
        super().__init__({"type_aliases": {real: alias}})
        self.ranks, self.ctype = ranks, ctype
        self.surrogates = dict(surrogates or {})

    def surrogate_name(self, arg):
        """The name of the precomputed surrogate value at ``arg`` (registered on first use)."""
        if arg not in self.surrogates:
            self.surrogates[arg] = f"bm_sg{len(self.surrogates)}"
        return self.surrogates[arg]

    def _number(self, value):
        return f"(({self.ctype})({float(value)!r}))"

    def _print_Symbol(self, expr):
        return c_name(expr.name)

    def _print_Rational(self, expr):
        if expr.q == 1:
            return str(expr.p)
        return f"(({self.ctype})({float(expr.p)!r}/{float(expr.q)!r}))"

    def _print_Float(self, expr):
        return self._number(expr)

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        b = self.parenthesize(base, PRECEDENCE["Pow"])
        if exp == sympy.S.Half:
            return f"{self._ns}sqrt{self._suffix()}({self._print(base)})"
        if exp.is_Integer:
            n = int(exp)
            if n == 2:
                return f"bm_sq({self._print(base)})"
            if n == -1:
                return f"(1/{b})"
            if n == -2:
                return f"(1/bm_sq({self._print(base)}))"
        return f"pow{self._suffix()}({self._print(base)}, {self._print(exp)})"

    def _suffix(self):
        return "f" if self.ctype == "float" else ""

    def _print_Select(self, expr):
        m, a, b = (self._print(x) for x in expr.args)
        return f"({m} != 0 ? {a} : {b})"

    def _print_SurrogateGrad(self, expr):
        return self.surrogate_name(expr.args[0])

    def _print_exprel(self, expr):
        return f"bm_exprel({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"fabs{self._suffix()}({self._print(expr.args[0])})"


def c_statements(printer, pairs, declare=True):
    """``const real target = expr;`` lines for (symbol, expression) pairs (``real``: the compute type).

    Examples
    --------
    >>> v, I = sympy.symbols("v I", real=True)
    >>> c_statements(CPrinter({}, "double"), [(sympy.Symbol("w"), v * I)])
    ['const real w = I*v;']
    """
    kind = "const real " if declare else ""
    return [f"{kind}{printer.doprint(target)} = {printer.doprint(expr)};" for target, expr in pairs]
