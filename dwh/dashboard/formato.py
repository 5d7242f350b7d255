"""How the views write numbers: Argentine separators, percentages, and "—" for any missing value."""

from __future__ import annotations

import math

import pandas as pd


def es_nulo(valor: object) -> bool:
    """True for None, NaN, pandas' NA/NaT."""
    if valor is None:
        return True
    try:
        return bool(pd.isna(valor))
    except (TypeError, ValueError):
        return False


def _sin_valor(valor: object) -> bool:
    return es_nulo(valor) or (isinstance(valor, float) and math.isinf(valor))


def formato_porcentaje(valor: float | None, decimales: int = 1, vacio: str = "—") -> str:
    """0.753 -> '75.3 %'; None / NaN / NA -> '—'."""
    if _sin_valor(valor):
        return vacio
    return f"{float(valor) * 100:.{decimales}f} %"  # type: ignore[arg-type]


def formato_numero(valor: float | None, decimales: int = 0, vacio: str = "—") -> str:
    """1234.5 -> '1.234' (Argentine thousands separator); None / NaN / NA -> '—'."""
    if _sin_valor(valor):
        return vacio
    texto = f"{float(valor):,.{decimales}f}"  # type: ignore[arg-type]
    return texto.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
