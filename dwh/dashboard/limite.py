"""In-memory throttling of failed logins, per user name and per client address, with exponential lockout."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

LIBRES = 5  # failures allowed before the first lockout
BLOQUEO_INICIAL = 60.0  # seconds of the first lockout; each further failure doubles it
BLOQUEO_MAXIMO = 15 * 60.0
OLVIDO = 60 * 60.0  # a key with no failure for this long starts again from zero
MAXIMO_CLAVES = 10_000


@dataclass
class _Fallos:
    cuenta: int = 0
    ultimo: float = 0.0
    hasta: float = 0.0


class Limitador:
    """Counts failures per key ("u:<user>", "ip:<address>"); a key past LIBRES failures is locked out for
    60 s, then 120 s, 240 s ... up to 15 minutes after each further failure. Kept in memory: a restart
    forgets it, and each server process counts on its own."""

    def __init__(self, reloj: Callable[[], float] = time.monotonic) -> None:
        self._reloj = reloj
        self._fallos: dict[str, _Fallos] = {}
        self._lock = threading.Lock()

    def espera(self, *claves: str) -> float:
        """Seconds until these keys may try again (0: now)."""
        ahora = self._reloj()
        with self._lock:
            hasta = max((self._fallos[c].hasta for c in claves if c in self._fallos), default=0.0)
        return max(0.0, hasta - ahora)

    def fallo(self, *claves: str) -> None:
        ahora = self._reloj()
        with self._lock:
            if len(self._fallos) >= MAXIMO_CLAVES:
                self._olvidar(ahora)
            for clave in claves:
                f = self._fallos.get(clave)
                if f is None or ahora - f.ultimo > OLVIDO:
                    f = self._fallos[clave] = _Fallos()
                f.cuenta += 1
                f.ultimo = ahora
                if f.cuenta >= LIBRES:
                    f.hasta = ahora + min(BLOQUEO_INICIAL * 2 ** (f.cuenta - LIBRES), BLOQUEO_MAXIMO)

    def exito(self, *claves: str) -> None:
        with self._lock:
            for clave in claves:
                self._fallos.pop(clave, None)

    def _olvidar(self, ahora: float) -> None:
        viejas = [c for c, f in self._fallos.items() if ahora - f.ultimo > OLVIDO and f.hasta <= ahora]
        for c in viejas:
            del self._fallos[c]
        if len(self._fallos) >= MAXIMO_CLAVES:
            # Still full (a spray of names): drop the oldest half rather than grow without bound.
            for c, _ in sorted(self._fallos.items(), key=lambda kv: kv[1].ultimo)[: MAXIMO_CLAVES // 2]:
                del self._fallos[c]
